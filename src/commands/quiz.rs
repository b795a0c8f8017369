//! `learn-containers quiz N`: the chapter's self-check questions (book/src/quiz/chNN.md,
//! the same text the book shows), asked one at a time in a terminal, each answer judged
//! and explained, and the best score kept in the progress file. `--print` gives the
//! questions with their answers as plain text, for a handout or a pipe.

use colored::Colorize;
use dialoguer::console::Term;
use lessons::Chapter;
use lessons::quiz::Question;

use crate::Outcome;
use crate::error::{CliError, Result};
use crate::progress::{Progress, day};
use crate::say;
use crate::ui;
use crate::workspace;

pub fn run(key: &str, print: bool) -> Result<Outcome> {
    let chapter = super::chapter(key)?;
    let questions = questions(chapter)?;
    if print {
        return print_all(chapter, &questions);
    }
    if !ui::interactive() {
        return Err(CliError::Usage(format!(
            "the quiz asks its questions one at a time and needs a terminal: run `learn-containers quiz {n}` in one, or `learn-containers quiz {n} --print` for the questions and answers as text",
            n = chapter.number
        )));
    }
    let mut right = 0;
    for (i, q) in questions.iter().enumerate() {
        if i > 0 {
            say!()?;
        }
        let head = format!(
            "Chapter {} · question {} of {}",
            chapter.number,
            i + 1,
            questions.len()
        );
        say!("{}", head.bold())?;
        say!("{}", ui::code_spans(&ui::wrap(&q.prompt, 0)))?;
        let options: Vec<String> = q.options.iter().map(|o| ui::code_spans(o)).collect();
        let Some(chosen) = dialoguer::Select::new()
            .items(&options)
            .default(0)
            .clear(false)
            .report(false)
            .interact_on_opt(&Term::stderr())?
        else {
            ui::restore_terminal();
            say!()?;
            say!(
                "Stopped after {i} of {} questions; nothing recorded. `learn-containers quiz {}` starts again.",
                questions.len(),
                chapter.number
            )?;
            return Ok(Outcome::Done);
        };
        if chosen == q.answer {
            right += 1;
            say!("{} {}", ui::tick(), "Right.".green())?;
        } else {
            say!(
                "{} {} {}",
                ui::cross(),
                "Not quite: the answer is".red(),
                ui::code_spans(&format!("{}. {}", q.answer + 1, q.options[q.answer]))
            )?;
        }
        say!("{}", ui::code_spans(&ui::wrap(&q.explanation, 2)))?;
    }
    let dir = workspace::state_dir()?;
    let mut progress = Progress::load(&dir)?;
    let best = progress.record_quiz(chapter.slug, right, questions.len());
    progress.save(&dir)?;
    say!()?;
    let score = format!("Score: {right} of {}", questions.len());
    let score = if right == questions.len() {
        score.green().bold()
    } else {
        score.bold()
    };
    let best = if best.best > right {
        format!(
            " · your best: {} of {} ({})",
            best.best,
            best.of,
            day(&best.at)
        )
    } else {
        String::new()
    };
    say!("{score}{best}")?;
    say!("{}", ui::wrap(&next(chapter, right == questions.len()), 0))?;
    Ok(Outcome::Done)
}

/// The chapter's questions; a quiz file the parser rejects is the workshop's bug, said in
/// one line.
fn questions(chapter: &Chapter) -> Result<Vec<Question>> {
    let questions = lessons::quiz::parse(chapter.quiz).map_err(|e| {
        CliError::Usage(format!(
            "the quiz of chapter {} cannot be read (book/src/quiz/ch{:02}.md, {e}); please report it",
            chapter.number, chapter.number
        ))
    })?;
    if questions.is_empty() {
        return Err(CliError::Usage(format!(
            "chapter {} has no quiz questions yet; its book page {} ends with the recap",
            chapter.number, chapter.book_page
        )));
    }
    Ok(questions)
}

/// What to do after the quiz.
fn next(chapter: &Chapter, all_right: bool) -> String {
    let page = format!("book/src/{}", chapter.book_page);
    if all_right {
        format!(
            "Next: the exercise, `learn-containers verify {}` when it is done.",
            chapter.number
        )
    } else {
        format!(
            "Next: reread what you missed in {page}, then `learn-containers quiz {}` again.",
            chapter.number
        )
    }
}

/// Every question with its options and, after them, its answer: plain text.
fn print_all(chapter: &Chapter, questions: &[Question]) -> Result<Outcome> {
    say!(
        "{}",
        format!(
            "Chapter {} · {} · {} questions",
            chapter.number,
            chapter.title,
            questions.len()
        )
        .bold()
    )?;
    for (i, q) in questions.iter().enumerate() {
        say!()?;
        say!("{}", format!("Question {}", i + 1).bold())?;
        say!("{}", ui::wrap(&q.prompt, 0))?;
        for (k, o) in q.options.iter().enumerate() {
            say!("  {}. {o}", k + 1)?;
        }
        say!(
            "{}",
            ui::wrap(&format!("Answer: {}. {}", q.answer + 1, q.explanation), 2)
        )?;
    }
    say!()?;
    say!(
        "Asked one at a time, with your best score kept: `learn-containers quiz {}` in a terminal.",
        chapter.number
    )?;
    Ok(Outcome::Done)
}
