//! Host programs run on the way (cargo, ldd, runc): in a process group of their own,
//! registered for undo as they start, and dying with this process, so that an interrupt
//! at any moment stops them too.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};

use crate::error::Result;
use nix::sys::signal::Signal;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::guard::kill_group;
use crate::kernel::undo::{self, Phase};

/// `cmd.output()` for a host tool. Stdin is closed; stdout and stderr are captured.
pub fn output(cmd: &mut Command) -> Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (child, _registered) = spawn_command(cmd)?;
    Ok(child.wait_with_output()?)
}

/// `cmd.spawn()` for a host tool, registered for undo in the same step (see
/// [`undo::making`]). The registration lasts as long as the returned
/// [`undo::Registered`].
pub fn spawn_command(cmd: &mut Command) -> Result<(Child, undo::Registered)> {
    cmd.process_group(0);
    // SAFETY: runs between fork and exec; prctl is async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            Ok(())
        });
    }
    undo::making(|| {
        let child = cmd.spawn()?;
        let pgid = Pid::from_raw(child.id() as i32);
        let registered = undo::Registered::new(Phase::Processes, move || {
            kill_group(pgid);
            let _ = waitpid(pgid, None);
        });
        Ok((child, registered))
    })
}
