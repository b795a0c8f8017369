//! A chapter's self-check questions, kept once, as the Markdown the book includes
//! (book/src/quiz/chNN.md, answers folded in `<details>`), and read from that same text
//! by `learn-containers quiz N`. The shape, per question:
//!
//! ```text
//! ### Question 1
//!
//! The question, one or more paragraphs.
//!
//! 1. an option, on one line
//! 2. another
//!
//! <details>
//! <summary>Answer</summary>
//!
//! **2.** Why, in one or more paragraphs.
//!
//! </details>
//! ```

/// One question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub prompt: String,
    pub options: Vec<String>,
    /// Index into `options`.
    pub answer: usize,
    pub explanation: String,
}

/// What is wrong with a quiz file, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("question {question}: {problem}")]
pub struct QuizError {
    pub question: usize,
    pub problem: String,
}

/// Parses a quiz file.
pub fn parse(text: &str) -> Result<Vec<Question>, QuizError> {
    let mut out = Vec::new();
    for (i, block) in text.split("### Question").skip(1).enumerate() {
        let n = i + 1;
        let bad = |problem: &str| QuizError {
            question: n,
            problem: problem.to_owned(),
        };
        let (body, answer) = block
            .split_once("<details>")
            .ok_or_else(|| bad("no <details> block with the answer"))?;
        // Skip the number on the heading line.
        let body = body.split_once('\n').map_or("", |(_, rest)| rest);
        let mut prompt = Vec::new();
        let mut options = Vec::new();
        for line in body.lines() {
            match option_line(line) {
                Some((k, text)) if k == options.len() + 1 => options.push(text.to_owned()),
                Some(_) => return Err(bad("the options must be numbered 1., 2., ... in order")),
                None if options.is_empty() => prompt.push(line),
                None if line.trim().is_empty() => {}
                None => return Err(bad("text after the options; each option is one line")),
            }
        }
        if !(2..=4).contains(&options.len()) {
            return Err(bad("there must be 2 to 4 options"));
        }
        let answer = answer
            .split_once("</summary>")
            .map(|(_, a)| a)
            .ok_or_else(|| bad("no <summary> in the answer"))?;
        let answer = answer
            .split_once("</details>")
            .map(|(a, _)| a)
            .ok_or_else(|| bad("no </details> after the answer"))?
            .trim();
        let rest = answer
            .strip_prefix("**")
            .ok_or_else(|| bad("the answer must start with **N.**"))?;
        let (k, explanation) = rest
            .split_once(".**")
            .ok_or_else(|| bad("the answer must start with **N.**"))?;
        let k: usize = k
            .parse()
            .map_err(|_| bad("the answer must start with **N.**"))?;
        if k == 0 || k > options.len() {
            return Err(bad("the answer names an option that does not exist"));
        }
        let prompt = prompt.join("\n").trim().to_owned();
        if prompt.is_empty() {
            return Err(bad("no question text"));
        }
        out.push(Question {
            prompt,
            options,
            answer: k - 1,
            explanation: explanation.trim().to_owned(),
        });
    }
    Ok(out)
}

/// `3. text` → (3, "text").
fn option_line(line: &str) -> Option<(usize, &str)> {
    let (k, text) = line.split_once(". ")?;
    Some((k.parse().ok()?, text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "<!-- a comment -->\n### Question 1\n\nWhat does `echo $$` print?\nSecond line.\n\n1. a host PID\n2. `1`\n\n<details>\n<summary>Answer</summary>\n\n**1.** The caller keeps its PID.\n\nMore.\n\n</details>\n";

    #[test]
    fn reads_a_question() {
        let q = parse(ONE).unwrap();
        assert_eq!(
            q,
            vec![Question {
                prompt: "What does `echo $$` print?\nSecond line.".into(),
                options: vec!["a host PID".into(), "`1`".into()],
                answer: 0,
                explanation: "The caller keeps its PID.\n\nMore.".into(),
            }]
        );
    }

    #[test]
    fn rejects_what_the_terminal_could_not_ask() {
        let no_answer = ONE.replace("**1.**", "");
        assert!(parse(&no_answer).is_err());
        let out_of_range = ONE.replace("**1.**", "**3.**");
        assert!(parse(&out_of_range).is_err());
        let one_option = ONE.replace("2. `1`\n", "");
        assert!(parse(&one_option).is_err());
        let skipped = ONE.replace("2. `1`", "3. `1`");
        assert!(parse(&skipped).is_err());
    }
}
