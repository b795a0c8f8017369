//! Step 1's last case: a DIR that is no cgroup with the cpu controller is refused (exit 1
//! with a message, nothing made in it, CMD never started). The verifier points the program
//! at a plain directory of its own, as a mistyped --parent would be; no kernel is needed,
//! which is the danger: limits written there are plain files nothing enforces.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::checks::Ch04;
use crate::error::Result;
use crate::kernel::child::Exit;
use crate::verify::run::Finished;
use crate::verify::{Check, CheckId, Context};

const TIMEOUT: Duration = Duration::from_secs(10);

/// What the program did with a plain directory as DIR.
pub(super) struct Refusal {
    pub(super) finished: Finished,
    /// What it created in the directory.
    pub(super) made: Vec<String>,
    /// Whether CMD ran (it writes a file outside the directory).
    pub(super) cmd_ran: bool,
}

pub(super) fn observe(cx: &Context, args: impl Fn(&Path, &str) -> Vec<String>) -> Result<Refusal> {
    let dir = cx.scratch.path().join("not-a-cgroup");
    std::fs::create_dir(&dir)?;
    let marker: PathBuf = cx.scratch.path().join("cmd-ran");
    let finished = cx.run_to_end(
        &args(&dir, &format!("echo ran > '{}'", marker.display())),
        TIMEOUT,
    )?;
    let made = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .map(|e| format!("DIR/{}", e.file_name().to_string_lossy()))
        .collect();
    Ok(Refusal {
        finished,
        made,
        cmd_ran: marker.exists(),
    })
}

/// Judges it (`describe` says how a program ended).
pub(super) fn judge(describe: &dyn Fn(&Finished) -> String, r: &Refusal) -> Check {
    let name = Ch04::Refused;
    let expected = "exit status 1 and a message, nothing created in DIR, CMD not started";
    let hint = "when DIR has neither cgroup.controllers nor cpu.cfs_quota_us it is no cgroup with \
                the cpu controller: detect returns an error, before anything is created. A limit \
                written into a plain directory is a plain file that nothing enforces";
    if !r.made.is_empty() || r.cmd_ran {
        let mut what = Vec::new();
        if !r.made.is_empty() {
            what.push(format!("created {}", r.made.join(", ")));
        }
        if r.cmd_ran {
            what.push("started CMD".to_string());
        }
        return name
            .fail(format!(
                "with a plain directory as DIR, the program {} and {}",
                what.join(" and "),
                describe(&r.finished)
            ))
            .expected(expected)
            .hint(hint);
    }
    let said = r.finished.stderr.lines().find(|l| !l.trim().is_empty());
    match (r.finished.exit, said) {
        (Exit::Code(1), Some(said)) => name.pass(format!(
            "a plain directory as DIR: exit status 1, `{}`, nothing created, CMD not started",
            said.trim()
        )),
        (Exit::Code(1), None) => name
            .fail("with a plain directory as DIR, the program exited 1 without a word on stderr")
            .expected(expected)
            .hint("say what is wrong on stderr: which DIR, and that it is no cpu cgroup"),
        _ => name
            .fail(format!(
                "with a plain directory as DIR, the program {}",
                describe(&r.finished)
            ))
            .expected(expected)
            .hint(
                "exit 1 after saying what is wrong: status 2 is for bad arguments, and DIR's \
                 contents are not an argument the program can check by parsing",
            ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(code: i32, stderr: &str, made: &[&str], cmd_ran: bool) -> Refusal {
        Refusal {
            finished: Finished {
                exit: Exit::Code(code),
                stdout: Vec::new(),
                stderr: stderr.into(),
                took: Duration::from_millis(5),
            },
            made: made.iter().map(|m| m.to_string()).collect(),
            cmd_ran,
        }
    }

    fn judged(r: &Refusal) -> Check {
        judge(
            &|f| match f.exit {
                Exit::Code(c) => format!("exited with status {c}"),
                _ => "ended otherwise".into(),
            },
            r,
        )
    }

    #[test]
    fn a_refusal_with_a_message_passes() {
        let c = judged(&refusal(1, "\nch04: /tmp/x: no cpu cgroup\n", &[], false));
        assert!(c.passed(), "{c:#?}");
        assert_eq!(
            c.saw.as_deref(),
            Some(
                "a plain directory as DIR: exit status 1, `ch04: /tmp/x: no cpu cgroup`, nothing created, CMD not started"
            )
        );
    }

    #[test]
    fn a_program_that_takes_a_plain_directory_for_v2_is_named() {
        // ch04_default_v2: no cgroup.controllers, no cpu.cfs_quota_us, so "v2"; it makes
        // its cgroup and limit as plain files, starts CMD, and rmdir then fails.
        let c = judged(&refusal(
            1,
            "rmdir: Directory not empty\n",
            &["DIR/ch04-77"],
            true,
        ));
        assert!(!c.passed());
        assert_eq!(
            c.saw.as_deref(),
            Some(
                "with a plain directory as DIR, the program created DIR/ch04-77 and started CMD and exited with status 1"
            )
        );
        assert!(
            c.hint
                .as_deref()
                .unwrap()
                .contains("neither cgroup.controllers nor cpu.cfs_quota_us")
        );
    }

    #[test]
    fn a_wrong_status_or_a_silent_refusal_is_named() {
        let c = judged(&refusal(0, "", &[], false));
        assert_eq!(
            c.saw.as_deref(),
            Some("with a plain directory as DIR, the program exited with status 0")
        );
        assert!(c.hint.as_deref().unwrap().starts_with("exit 1"));
        let c = judged(&refusal(1, "  \n", &[], false));
        assert!(
            c.saw
                .as_deref()
                .unwrap()
                .ends_with("without a word on stderr")
        );
    }
}
