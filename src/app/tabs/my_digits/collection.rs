//! My digits, the collection: labelled drawings and pictures, kept in the app's data folder and
//! saved after every change; reading, importing and exporting them on jobs; labelling. What the
//! app holds about teaching ([`Teaching`]); fine-tuning is in
//! [`crate::app::tabs::my_digits::finetune`]. The UI is [`crate::app::tabs::my_digits::panel`];
//! the core is [`crate::my_digits`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::data::PIXELS;
use crate::finetune::{FinetuneProgress, FinetuneReport};

pub use crate::my_digits::MY_DIGITS_FILE;
use crate::my_digits::{DigitProblem, FolderLock, LockError, MyDigits, import_labelled_images};

use crate::app::format::file_name;
use crate::app::jobs::runner::{Task, TaskEvent, lower_priority};
use crate::app::tabs::my_digits::MyDigitsEvent;
use crate::app::tabs::my_digits::finetune::FinetuneRun;
use crate::app::tabs::my_digits::picture_queue::PictureQueue;
use crate::app::tabs::my_digits::saver::{EXIT_SAVE_WAIT, Saver};
use crate::app::version::Version;
use crate::app::{App, Job, ModelState, Worker};

/// The teaching state the App holds.
#[derive(Default)]
pub struct Teaching {
    /// None until read from disk at start.
    pub digits: Option<MyDigits>,
    /// Bumped at every change (thumbnails and predictions follow it).
    pub version: u64,
    saver: Option<Saver>,
    /// This window's hold on the data folder's My digits (None: no folder, or not locked);
    /// kept for its lock, released when dropped.
    _folder_lock: Option<FolderLock>,
    /// Why My digits cannot be changed in this window (another window holds the folder).
    pub read_only: Option<String>,
    /// Since when the window waits to close for a change being saved (it closes once saved).
    closing_since: Option<Instant>,
    /// A save failed while closing: the next close request is let through.
    close_anyway: bool,
    /// Decodes dropped pictures (started at the first drop).
    pub pictures: Option<PictureQueue>,
    pub run: Option<FinetuneRun>,
    /// The last finished run's curve and report.
    pub last_curve: Vec<FinetuneProgress>,
    pub last_report: Option<FinetuneReport>,
    /// The model before the last fine-tuning, for Undo.
    pub before: Option<ModelState>,
    /// Dropped pictures waiting for a label: name and image.
    pub unlabelled: Vec<(String, [u8; PIXELS])>,
    /// The data folder: My digits are saved there, and the fine-tuned model is kept there while
    /// it is the current one. None: kept for this session only.
    pub dir: Option<PathBuf>,
}

impl Teaching {
    /// From now on My digits stay in memory: the file on disk must not be overwritten.
    pub fn stop_saving(&mut self) {
        self.saver = None;
        self.dir = None;
    }

    /// Where My digits are saved (None: kept for this session only).
    pub fn path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|dir| dir.join(MY_DIGITS_FILE))
    }

    pub fn count(&self) -> usize {
        self.digits.as_ref().map_or(0, MyDigits::len)
    }

    /// Some change to My digits is not on disk yet.
    pub fn unsaved(&self) -> bool {
        self.saver.as_ref().is_some_and(Saver::pending)
    }

    /// The last save failed, or the saver is gone.
    pub fn save_failed(&self) -> bool {
        self.saver.as_ref().is_some_and(Saver::failed)
    }

    /// Waits (at most `bound`) until every change is on disk; saving ends. The error says what
    /// is lost.
    pub fn finish_saving(&mut self, bound: Duration) -> Result<(), String> {
        self.saver.as_mut().map_or(Ok(()), |saver| saver.finish(bound))
    }
}

impl Worker {
    /// Reads My digits from `path` on a thread. An unreadable file is moved aside (never
    /// overwritten) when `owner` (this window holds the folder) and the app starts with none;
    /// the message says where the file went and how to get it back.
    pub fn load_my_digits(&self, path: PathBuf, owner: bool) {
        self.spawn(Job::MyDigits, None, move |out, fault| {
            fault.point();
            let result = MyDigits::load(&path).map_err(|e| {
                if !owner {
                    return (
                        format!("My digits could not be read ({e}); the window using them decides what to do"),
                        true,
                    );
                }
                let aside = aside_path(&path);
                match std::fs::rename(&path, &aside) {
                    Ok(()) => (
                        format!(
                            "My digits could not be read ({e}). The file was moved to {} and nothing in it is \
                             lost; My digits start empty. To get them back, close the app, fix that line, and \
                             rename the file back to {} (or import it once fixed: My digits > Import...).",
                            aside.display(),
                            path.display()
                        ),
                        false,
                    ),
                    Err(move_error) => (
                        format!(
                            "My digits could not be read ({e}) nor moved aside ({move_error}): new ones are not saved this session"
                        ),
                        true,
                    ),
                }
            });
            out.send(MyDigitsEvent::Loaded(result));
        });
    }

    /// Reads a file to add to My digits: a `file,label` list of pictures, or a training CSV
    /// (an export of My digits, or any Kaggle training file).
    pub fn import_my_digits(&mut self, path: PathBuf) -> Task {
        let task = self.task(format!("Importing {}", file_name(&path)));
        let id = task.id;
        self.spawn(Job::MyDigits, Some(id), move |out, fault| {
            lower_priority();
            fault.point();
            let result = read_import(&path);
            out.send(MyDigitsEvent::Imported {
                id,
                source: file_name(&path),
                result,
            });
        });
        task
    }

    /// Writes My digits to `path` (atomically), as a Kaggle training CSV.
    pub fn export_my_digits(
        &mut self,
        path: PathBuf,
        digits: MyDigits,
        check: crate::app::files::save::WriteCheck,
    ) -> Task {
        let mut task = self.task(format!("Exporting My digits to {}", file_name(&path)));
        task.cancellable = false;
        let id = task.id;
        self.spawn(Job::MyDigits, Some(id), move |out, fault| {
            lower_priority();
            fault.point();
            let output = crate::write_guard::Output::MyDigits;
            if let Some(event) = check.run(
                id,
                crate::app::files::actions::FileAction::ExportMyDigits,
                &path,
                output,
            ) {
                out.send(event);
                return;
            }
            out.send(match digits.save(&path) {
                Ok(()) => TaskEvent::Finished {
                    id,
                    notice: format!("Exported {} of My digits to {}", digits.len(), path.display()),
                },
                Err(e) => TaskEvent::Failed {
                    id,
                    message: format!("cannot write {}: {e}", path.display()),
                },
            });
        });
        task
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A name beside `path` for an unreadable collection: `my_digits.unreadable-SECONDS.csv`, with a
/// counter if that is taken (never over an earlier one).
fn aside_path(path: &Path) -> PathBuf {
    let seconds = unix_seconds();
    let mut aside = path.with_extension(format!("unreadable-{seconds}.csv"));
    let mut n = 1;
    while aside.exists() {
        n += 1;
        aside = path.with_extension(format!("unreadable-{seconds}-{n}.csv"));
    }
    aside
}

/// A `file,label` picture list by its header; anything else loads as training data. Every row is
/// checked before anything is added.
fn read_import(path: &Path) -> Result<MyDigits, String> {
    let head = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let header = String::from_utf8_lossy(first_line).to_lowercase();
    let is_picture_list = header.trim_start_matches('\u{feff}').replace([' ', '"', '\r'], "") == "file,label";
    if is_picture_list {
        let images = import_labelled_images(path).map_err(|e| e.to_string())?;
        let mut digits = MyDigits::default();
        for image in images {
            digits.push(image.label, &image.image).map_err(|e| e.to_string())?;
        }
        return Ok(digits);
    }
    MyDigits::read(path).map_err(|e| e.to_string())
}

impl App {
    /// Starts reading My digits from the data folder (None: this session only), and the model
    /// fine-tuned last session when `restore_model`.
    pub(crate) fn open_my_digits(&mut self, data_dir: Option<PathBuf>, restore_model: bool) {
        match data_dir {
            Some(dir) => {
                if restore_model {
                    self.jobs.runner.restore_finetuned(dir.clone());
                }
                let path = dir.join(MY_DIGITS_FILE);
                match FolderLock::acquire(&dir) {
                    Ok(lock) => self.teaching._folder_lock = Some(lock),
                    Err(held @ LockError::Held { .. }) => {
                        // Another window saves them: this one only shows them, and writes
                        // nothing in the folder (neither digits nor fine-tuned models).
                        self.teaching.read_only = Some(format!(
                            "{held}, so they are read-only here. Add digits in that window, or close it \
                             and reopen this one."
                        ));
                        self.jobs.runner.load_my_digits(path, false);
                        return;
                    }
                    // A file system without locks: saved as before, unprotected.
                    Err(e) => eprintln!("digit-recognizer: {e}; My digits are saved without a lock"),
                }
                self.teaching.dir = Some(dir);
                self.teaching.saver = Some(Saver::start(path.clone(), self.jobs.runner.emitter()));
                self.jobs.runner.load_my_digits(path, true);
            }
            None => self.teaching.digits = Some(MyDigits::default()),
        }
    }

    /// Applies an edit to My digits and saves them; false (and the banner says why) when it
    /// was refused. A refused edit changes nothing.
    pub(crate) fn edit_my_digits(&mut self, edit: impl FnOnce(&mut MyDigits) -> Result<(), DigitProblem>) -> bool {
        if let Some(why) = &self.teaching.read_only {
            self.messages.error = Some(format!("Not changed: {why}"));
            return false;
        }
        let Some(digits) = &mut self.teaching.digits else {
            self.messages.error = Some("My digits are still being read: try again in a moment.".into());
            return false;
        };
        if let Err(problem) = edit(digits) {
            self.messages.error = Some(format!("My digits unchanged: {problem}."));
            return false;
        }
        self.teaching.version += 1;
        if let Some(saver) = &mut self.teaching.saver {
            saver.save(digits.clone());
        }
        true
    }

    /// Holds a close request back while a change to My digits is being saved, and closes the
    /// window once it is on disk (a save takes milliseconds; the status bar says what happens).
    /// If the save fails, the banner says so and the next close request quits anyway.
    pub(crate) fn hold_close_for_saves(&mut self, ctx: &egui::Context) {
        let asked = ctx.input(|i| i.viewport().close_requested());
        if asked && self.teaching.unsaved() && !self.teaching.close_anyway {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.teaching.closing_since.get_or_insert_with(Instant::now);
            self.messages.notice = Some("Saving My digits before closing...".into());
        }
        let Some(since) = self.teaching.closing_since else {
            return;
        };
        if !self.teaching.unsaved() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        } else if self.teaching.save_failed() || since.elapsed() > EXIT_SAVE_WAIT {
            // Never keep the user from closing: say what would be lost, and let the next close
            // through.
            self.teaching.closing_since = None;
            self.teaching.close_anyway = true;
            let why = if self.teaching.save_failed() {
                self.messages
                    .error
                    .take()
                    .unwrap_or_else(|| "My digits could not be saved".into())
            } else {
                format!("My digits are still being saved after {} s", EXIT_SAVE_WAIT.as_secs())
            };
            self.messages.error = Some(format!(
                "{why}. Close the window again to quit without the last changes."
            ));
        } else {
            ctx.request_repaint_after(Duration::from_millis(20));
        }
    }

    /// Reads a dropped picture on the decoder pool; it then waits for its label.
    pub(crate) fn read_picture(&mut self, path: PathBuf) {
        let worker = &self.jobs.runner;
        let queue = self
            .teaching
            .pictures
            .get_or_insert_with(|| PictureQueue::start(&worker.emitter()));
        if let Err(path) = queue.submit(path) {
            self.messages.error = Some(format!(
                "{} was not read: {} pictures already wait. Drop it again once they are labelled.",
                file_name(&path),
                crate::app::tabs::my_digits::picture_queue::PICTURES_WAITING
            ));
        }
    }

    /// "This is a 4": the drawing (as the network sees it) joins My digits and the canvas clears
    /// for the next one.
    pub(crate) fn label_drawing(&mut self, digit: u8) {
        let Some(prediction) = self.tabs.draw.canvas.prediction() else {
            return;
        };
        let image = prediction.input;
        let read_as = prediction.digit;
        if !self.edit_my_digits(|d| d.push(digit, &image)) {
            return;
        }
        let count = self
            .teaching
            .digits
            .as_ref()
            .map_or(0, |d| d.counts()[usize::from(digit)]);
        self.tabs.draw.canvas.clear();
        let verdict = if read_as == usize::from(digit) {
            String::new()
        } else {
            format!(" (the model read it as {read_as})")
        };
        self.messages.notice = Some(format!(
            "Added to My digits as a {digit}{verdict}: {count} {digit}s now. Draw the next one."
        ));
    }

    pub(crate) fn my_digits_event(&mut self, event: MyDigitsEvent) {
        match event {
            MyDigitsEvent::Loaded(Ok(digits)) => {
                // Labelling waits for this (`edit_my_digits`): nothing was added before.
                self.teaching.digits = Some(digits);
                self.teaching.version += 1;
            }
            MyDigitsEvent::Loaded(Err((message, in_the_way))) => {
                if in_the_way {
                    self.teaching.stop_saving();
                }
                self.teaching.digits = Some(MyDigits::default());
                self.messages.error = Some(message);
            }
            MyDigitsEvent::SaveFailed(message) => self.messages.error = Some(message),
            MyDigitsEvent::Imported { id, source, result } => {
                self.task_done(id);
                match result {
                    Ok(rows) if rows.is_empty() => self.messages.error = Some(format!("{source}: nothing to import")),
                    Ok(rows) => {
                        if self.edit_my_digits(|d| {
                            d.append(&rows);
                            Ok(())
                        }) {
                            let n = rows.len();
                            self.messages.notice = Some(format!("Imported {n} digits from {source} into My digits."));
                        }
                    }
                    Err(message) => self.messages.error = Some(format!("Nothing imported: {message}")),
                }
            }
            MyDigitsEvent::PictureRead { name, result } => match result {
                Ok(image) => {
                    self.teaching.unlabelled.push((name, image));
                    self.settings.tab = crate::app::Tab::MyDigits;
                }
                Err(message) => self.messages.error = Some(format!("{name}: {message}")),
            },
            MyDigitsEvent::Restored(Ok(Some(restored))) => self.restored(restored),
            MyDigitsEvent::Restored(Ok(None)) => {}
            MyDigitsEvent::Restored(Err(message)) => self.messages.error = Some(message),
            MyDigitsEvent::Finetune(event) => self.finetune_progress(event),
            MyDigitsEvent::FinetuneDone { model, report } => self.finetune_done(model, report),
            MyDigitsEvent::FinetuneRefused(why) => {
                self.teaching.run = None;
                self.messages.error = Some(format!("Cannot fine-tune: {why}."));
            }
            MyDigitsEvent::SnapshotReady => {
                if let Some(run) = &mut self.teaching.run
                    && let Some(snapshot) = run.control.take_snapshot()
                {
                    run.live = Some((snapshot.step, snapshot.total_steps, snapshot.model));
                    run.live_version = Version::next();
                }
            }
        }
    }

    /// Labels (or, with None, skips) the first dropped picture waiting for one.
    pub(crate) fn label_dropped(&mut self, digit: Option<u8>) {
        if self.teaching.unlabelled.is_empty() {
            return;
        }
        let (name, image) = self.teaching.unlabelled[0].clone();
        if let Some(digit) = digit {
            // A refused label (read-only here) keeps the picture waiting.
            if !self.edit_my_digits(|d| d.push(digit, &image)) {
                return;
            }
            self.messages.notice = Some(format!("Added {name} to My digits as a {digit}."));
        }
        self.teaching.unlabelled.remove(0);
    }
}
