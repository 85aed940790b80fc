//! Running programs: echo the command, inherit the terminal, fail loudly.

use std::{
    ffi::{OsStr, OsString},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use anyhow::{Context, Result, bail};

/// A command to run, printed before it starts.
pub struct Cmd {
    command: Command,
    shown: String,
}

impl Cmd {
    /// A command running `program`.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let shown = program.as_ref().to_string_lossy().into_owned();
        Cmd {
            command: Command::new(program),
            shown,
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.shown.push(' ');
        self.shown.push_str(&arg.as_ref().to_string_lossy());
        self.command.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args(self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Self {
        args.into_iter().fold(self, Cmd::arg)
    }

    /// Sets an environment variable for the program.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    /// Puts `dir` first on the program's PATH.
    pub fn path_prepend(mut self, dir: PathBuf) -> Self {
        let mut paths = vec![dir];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let joined = std::env::join_paths(paths).unwrap_or_else(|_| OsString::from(""));
        self.command.env("PATH", joined);
        self
    }

    /// Runs to completion; an error unless it exits with success.
    pub fn run(mut self) -> Result<()> {
        eprintln!("$ {}", self.shown);
        let status = self
            .command
            .status()
            .with_context(|| format!("cannot start `{}`", self.shown))?;
        if !status.success() {
            bail!("`{}` failed with {status}", self.shown);
        }
        Ok(())
    }

    /// Runs to completion and returns standard output, or `None` if it cannot run or fails.
    pub fn output(mut self) -> Option<String> {
        let output = self.command.stderr(Stdio::null()).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Starts in the background.
    pub fn spawn(mut self) -> Result<Child> {
        eprintln!("$ {} &", self.shown);
        self.command
            .spawn()
            .with_context(|| format!("cannot start `{}`", self.shown))
    }
}
