//! The learner-facing sentence that says why each entry is in the rootfs.

use std::path::PathBuf;

/// Why an entry is there; rendered into `Entry::why` once every binary that
/// shares it is known.
pub(crate) enum Reason {
    Program {
        found: PathBuf,
        canonical: PathBuf,
        is_static: bool,
        busybox: bool,
    },
    Interpreter {
        users: Vec<String>,
    },
    Library {
        needed_by: String,
        via: Option<String>,
        users: Vec<String>,
        relocated_from: Option<PathBuf>,
    },
    Applet(String),
    Fixed(String),
}

pub(crate) fn add_user(reason: &mut Reason, user: &str) {
    if let Reason::Interpreter { users } | Reason::Library { users, .. } = reason
        && !users.iter().any(|u| u == user)
    {
        users.push(user.to_string());
    }
}

pub(crate) fn render(reason: &Reason) -> String {
    match reason {
        Reason::Program {
            found,
            canonical,
            is_static,
            busybox,
        } => {
            let what = if *busybox {
                "busybox: one program that provides ps, mount, sh and more as applets"
            } else {
                "the program you asked for"
            };
            let host = if found == canonical {
                format!("{}", found.display())
            } else {
                format!("{} → {}", found.display(), canonical.display())
            };
            let linking = if *is_static {
                "statically linked (no PT_INTERP, no DT_NEEDED), so it needs nothing else"
            } else {
                "dynamically linked, so its ELF interpreter and libraries follow"
            };
            format!("{what} (host: {host}); {linking}")
        }
        Reason::Interpreter { users } => {
            let named_in = if users.len() == 1 {
                format!("{}'s PT_INTERP", users[0])
            } else {
                format!("the PT_INTERP of {}", join(users))
            };
            format!(
                "ELF interpreter named in {named_in}; without it exec fails with 'No such file or directory' although bin/{} exists",
                users[0]
            )
        }
        Reason::Library {
            needed_by,
            via,
            users,
            relocated_from,
        } => {
            let mut why = match via {
                None => format!("needed by {needed_by} (DT_NEEDED)"),
                Some(lib) => format!("needed by {lib} (DT_NEEDED), which {needed_by} needs"),
            };
            if users.len() > 1 {
                why.push_str(&format!("; also used by {}", join(&users[1..])));
            }
            if let Some(from) = relocated_from {
                why.push_str(&format!(
                    "; on the host it is {}, a directory the loader only finds via ld.so.cache, so it goes where the loader looks by default",
                    from.display()
                ));
            }
            why
        }
        Reason::Applet(name) => format!(
            "link to busybox, which looks at argv[0] (`{name}`) to choose the applet to run"
        ),
        Reason::Fixed(why) => why.clone(),
    }
}

/// "a", "a and b", "a, b and c", "a, b, c and 2 more".
fn join(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        _ if names.len() > 4 => format!("{} and {} more", names[..3].join(", "), names.len() - 3),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_reads_like_english() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(join(&s(&["bash"])), "bash");
        assert_eq!(join(&s(&["bash", "ls"])), "bash and ls");
        assert_eq!(join(&s(&["a", "b", "c"])), "a, b and c");
        assert_eq!(join(&s(&["a", "b", "c", "d", "e"])), "a, b, c and 2 more");
    }
}
