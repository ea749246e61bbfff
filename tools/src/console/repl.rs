//! The interactive loop: read lines with rustyline, split them into statements, run them.
//!
//! - Line editing and history (kept in `~/.basalt_history`, or `$BASALT_HISTORY`) when a person
//!   types at a terminal. Statements carrying a password (`CONNECT url user password`,
//!   `CREATE DATABASE url user password`) are not written to the history, nor are lines starting
//!   with a space.
//! - A statement may span lines; it runs at `;` or a blank line (console commands at the end of
//!   their line), and not before its brackets balance. The prompt is OrientDB's
//!   (`orientdb {db=demo}> `); continuation lines show what is still open, right-aligned under
//!   it: `'> ` inside a quote, `(> ` (or `[> `, `{> `) inside a bracket, `*> ` inside a
//!   comment, `-> ` otherwise. Ctrl-C drops what is typed so far, Ctrl-D (end of input) leaves.
//! - Tab completes keywords, classes, properties and clusters ([`super::complete`]).
//! - At a terminal (standard input and output both), a statement's output taller than the
//!   screen goes through the pager ([`super::output`]); never when input or output is not a
//!   terminal.
//! - When standard input is not a terminal, rustyline reads plain lines from it and no prompt is
//!   shown, so `basalt < script.sql` works; the exit code is then 1 if any statement failed (2 if
//!   the failure was that no server could be reached), as in one-shot mode.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Config, Editor};

use super::command::{is_console_command, parse_command, Command};
use super::complete::{ConsoleHelper, SharedVocabulary};
use super::error::ConsoleError;
use super::output::pager_allowed;
use super::script::Scanner;
use super::session::{Flow, Session};

/// How many statements the history keeps.
pub const HISTORY_ENTRIES_MAX: usize = 1000;

/// Where the history is kept: `$BASALT_HISTORY`, else `~/.basalt_history`, else nowhere.
pub fn history_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("BASALT_HISTORY").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|home| PathBuf::from(home).join(".basalt_history"))
}

/// One read from the input.
enum Input {
    /// A line, without its line break.
    Line(String),
    /// Ctrl-C.
    Interrupted,
    /// Ctrl-D or the end of the piped input.
    End,
}

/// Where lines come from: rustyline, or plain stdin if rustyline cannot start.
enum Lines {
    /// rustyline, with history when interactive.
    Editor(Box<Editor<ConsoleHelper, DefaultHistory>>),
    /// Plain buffered stdin.
    Plain(std::io::StdinLock<'static>),
}

impl Lines {
    fn read(&mut self, prompt: &str) -> Result<Input, String> {
        match self {
            Lines::Editor(editor) => match editor.readline(prompt) {
                Ok(line) => Ok(Input::Line(line)),
                Err(ReadlineError::Interrupted) => Ok(Input::Interrupted),
                Err(ReadlineError::Eof) => Ok(Input::End),
                Err(e) => Err(format!("cannot read the input: {e}")),
            },
            Lines::Plain(stdin) => {
                let mut line = String::new();
                match stdin.read_line(&mut line) {
                    Ok(0) => Ok(Input::End),
                    Ok(_) => Ok(Input::Line(line.trim_end_matches(['\n', '\r']).to_owned())),
                    Err(e) => Err(format!("cannot read the input: {e}")),
                }
            }
        }
    }
}

/// Runs the REPL until EXIT or the end of input; returns the exit code.
pub fn run_repl(session: &mut Session) -> u8 {
    let interactive = std::io::stdin().is_terminal();
    session.set_interactive(interactive);
    let history = if interactive { history_path() } else { None };
    let vocabulary = SharedVocabulary::default();
    let mut lines = open_lines(history.as_ref(), session, &vocabulary);
    if interactive {
        session.set_vocabulary(vocabulary);
    }
    let paging = interactive && pager_allowed();
    if interactive {
        let banner = format!(
            "Basalt console {}. Type HELP for the commands; end SQL with ';' or a blank line; EXIT or Ctrl-D leaves.\n",
            env!("CARGO_PKG_VERSION")
        );
        let _ = session.print(&banner);
    }
    let mut scanner = Scanner::new();
    let mut worst = 0u8;
    'reading: loop {
        let prompt = match (interactive, scanner.pending()) {
            (false, _) => String::new(),
            (true, None) => session.prompt(),
            (true, Some(open)) => continuation_prompt(&session.prompt(), open),
        };
        match lines.read(&prompt) {
            Ok(Input::Line(line)) => {
                for statement in scanner.feed(&format!("{line}\n")) {
                    if run_statement(session, &mut lines, (interactive, paging), &statement, &mut worst) == Flow::Exit {
                        break 'reading;
                    }
                }
            }
            Ok(Input::Interrupted) => scanner.reset(),
            Ok(Input::End) => {
                match scanner.finish() {
                    Ok(Some(statement)) => {
                        run_statement(session, &mut lines, (interactive, paging), &statement, &mut worst);
                    }
                    Ok(None) => {}
                    Err(why) => {
                        let error = ConsoleError::Usage(format!("the input ended inside a statement: {why}"));
                        session.report(&error);
                        worst = worst.max(1);
                    }
                }
                break;
            }
            Err(why) => {
                session.report(&ConsoleError::Usage(why));
                worst = worst.max(1);
                break;
            }
        }
    }
    if let Err(error) = session.finish() {
        session.report(&error);
        worst = worst.max(error.exit_code());
    }
    if let (Lines::Editor(editor), Some(path)) = (&mut lines, &history) {
        if let Err(e) = editor.save_history(path) {
            session.report(&ConsoleError::Usage(format!("cannot save the history to {}: {e}", path.display())));
        }
    }
    if interactive {
        0
    } else {
        worst
    }
}

/// Runs one statement, adding it to the history first; an error is printed and raises `worst`.
/// `modes` is (a person types, the output may be paged).
fn run_statement(
    session: &mut Session,
    lines: &mut Lines,
    modes: (bool, bool),
    statement: &str,
    worst: &mut u8,
) -> Flow {
    let (interactive, paging) = modes;
    if let (Lines::Editor(editor), true) = (lines, interactive) {
        if !carries_password(statement) {
            // SQL is kept with its `;` so that recalling it and pressing Enter runs it.
            let entry = if is_console_command(statement) { statement.to_owned() } else { format!("{statement};") };
            // A history that cannot take an entry only loses the entry.
            let _ = editor.add_history_entry(entry);
        }
    }
    if paging {
        session.hold_output();
    }
    let result = session.execute(statement);
    session.release_output();
    match result {
        Ok(flow) => flow,
        Err(error) => {
            session.report(&error);
            *worst = (*worst).max(error.exit_code());
            Flow::Continue
        }
    }
}

/// A rustyline editor (with the history loaded), or plain stdin if rustyline cannot start.
fn open_lines(history: Option<&PathBuf>, session: &mut Session, vocabulary: &SharedVocabulary) -> Lines {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .history_ignore_space(true)
        .max_history_size(HISTORY_ENTRIES_MAX)
        .and_then(|b| b.history_ignore_dups(true))
        .map(|b| b.build());
    let editor = config.and_then(Editor::<ConsoleHelper, DefaultHistory>::with_config);
    match editor {
        Ok(mut editor) => {
            editor.set_helper(Some(ConsoleHelper { vocabulary: vocabulary.clone() }));
            if let Some(path) = history.filter(|p| p.exists()) {
                if let Err(e) = editor.load_history(path) {
                    let message = format!("cannot read the history {}: {e}", path.display());
                    session.report(&ConsoleError::Usage(message));
                }
            }
            Lines::Editor(Box::new(editor))
        }
        Err(e) => {
            session.report(&ConsoleError::Usage(format!("line editing is unavailable ({e}); reading plain lines")));
            Lines::Plain(std::io::stdin().lock())
        }
    }
}

/// The prompt for the second and later lines of a statement: what is open (see the module
/// doc) and `> `, as wide as the main prompt.
fn continuation_prompt(prompt: &str, open: char) -> String {
    let width = prompt.chars().count().saturating_sub(2);
    format!("{open:>width$}> ")
}

/// True for statements whose text holds a password; they stay out of the history file.
fn carries_password(statement: &str) -> bool {
    match parse_command(statement) {
        Ok(Command::Connect { login, .. }) => login.is_some(),
        Ok(Command::CreateDatabase(target) | Command::DropDatabase(target)) => target.login.is_some(),
        Ok(_) => false,
        // Unparseable: it may be a mistyped CONNECT; keep it out to be safe.
        Err(_) => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_the_history() {
        assert!(carries_password("CONNECT http://h/db root secret"));
        assert!(carries_password("create database remote:h/db root secret"));
        assert!(carries_password("connect x 'unclosed"));
        assert!(!carries_password("CONNECT http://h/db"));
        assert!(!carries_password("CREATE DATABASE demo"));
        assert!(!carries_password("SELECT FROM V"));
    }

    #[test]
    fn continuation_prompt_lines_up() {
        assert_eq!(continuation_prompt("orientdb {db=demo}> ", '\''), "                 '> ");
        assert_eq!(continuation_prompt("orientdb {db=demo}> ", '(').len(), "orientdb {db=demo}> ".len());
        assert_eq!(continuation_prompt("orientdb> ", '-'), "       -> ");
    }
}
