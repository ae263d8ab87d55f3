//! The fine-tuned model kept for the next session: saved beside My digits while it is the
//! current model, read back at start (so a restart comes back to it and Undo still works), and
//! forgotten when another model replaces it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::finetune::FinetuneReport;
use crate::model_file::{self, ModelInfo};
use crate::network::Mlp;

use crate::app::jobs::runner::lower_priority;
use crate::app::tabs::my_digits::MyDigitsEvent;
use crate::app::{App, ModelState};
use crate::app::{Job, Worker};

/// The fine-tuned model and the one before it, kept beside My digits while the fine-tuned model
/// is the current one, so that a restart comes back to it (and Undo still works). The state
/// file is written last and removed first: without it the models are not restored.
const FINETUNED_MODEL: &str = "finetuned.safetensors";
const BEFORE_MODEL: &str = "before_finetune.safetensors";
const FINETUNED_STATE: &str = "finetuned.json";

/// What the state file records.
#[derive(Serialize, Deserialize)]
struct KeptFinetune {
    name: String,
    before_name: String,
    report: FinetuneReport,
}

/// A fine-tuned model read back at start.
pub struct Restored {
    model: Mlp,
    info: ModelInfo,
    name: String,
    before: ModelState,
    report: FinetuneReport,
}

impl Worker {
    /// Keeps the fine-tuned model and the one before it in `dir` (see [`FINETUNED_STATE`]).
    pub(crate) fn keep_finetuned(
        &self,
        dir: PathBuf,
        current: &ModelState,
        before: &ModelState,
        report: FinetuneReport,
    ) {
        let (model, info) = (current.model.clone(), current.info.clone());
        let (before_model, before_info) = (before.model.clone(), before.info.clone());
        let state = KeptFinetune {
            name: current.name.clone(),
            before_name: before.name.clone(),
            report,
        };
        self.spawn(Job::MyDigits, None, move |out, fault| {
            lower_priority();
            fault.point();
            let result = model_file::save(&dir.join(BEFORE_MODEL), &before_model, &before_info)
                .and_then(|()| model_file::save(&dir.join(FINETUNED_MODEL), &model, &info))
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    let json = serde_json::to_vec_pretty(&state).map_err(|e| e.to_string())?;
                    write_atomic(&dir.join(FINETUNED_STATE), |w| w.write_all(&json)).map_err(|e| e.to_string())
                });
            if let Err(e) = result {
                out.send(MyDigitsEvent::SaveFailed(format!(
                    "The fine-tuned model could not be kept for the next session: {e}"
                )));
            }
        });
    }

    /// Forgets the kept fine-tuned model (state file first).
    pub(crate) fn forget_finetuned(&self, dir: PathBuf) {
        self.spawn(Job::MyDigits, None, move |_, fault| {
            fault.point();
            for file in [FINETUNED_STATE, FINETUNED_MODEL, BEFORE_MODEL] {
                let _ = std::fs::remove_file(dir.join(file));
            }
        });
    }

    /// Reads the kept fine-tuned model, if there is one.
    pub(crate) fn restore_finetuned(&self, dir: PathBuf) {
        self.spawn(Job::MyDigits, None, move |out, fault| {
            lower_priority();
            fault.point();
            let state_path = dir.join(FINETUNED_STATE);
            let result = if state_path.exists() {
                read_kept(&dir).map(Some).map_err(|e| {
                    format!(
                        "The model fine-tuned last session could not be restored ({e}); the files stay in {}",
                        dir.display()
                    )
                })
            } else {
                Ok(None)
            };
            out.send(MyDigitsEvent::Restored(result));
        });
    }
}

fn read_kept(dir: &Path) -> Result<Restored, String> {
    let text = std::fs::read(dir.join(FINETUNED_STATE)).map_err(|e| e.to_string())?;
    let state: KeptFinetune = serde_json::from_slice(&text).map_err(|e| format!("{FINETUNED_STATE}: {e}"))?;
    let (model, info) = model_file::load(&dir.join(FINETUNED_MODEL)).map_err(|e| e.to_string())?;
    let (before, before_info) = model_file::load(&dir.join(BEFORE_MODEL)).map_err(|e| e.to_string())?;
    Ok(Restored {
        model,
        info,
        name: state.name,
        before: ModelState::new(Arc::new(before), before_info, state.before_name),
        report: state.report,
    })
}

impl App {
    /// The model fine-tuned last session, back as the current one (unless another model was
    /// opened or trained meanwhile).
    pub(crate) fn restored(&mut self, restored: Restored) {
        let untouched = self
            .session
            .model
            .as_ref()
            .is_none_or(|m| m.name == crate::embedded::MODEL_NAME);
        if !untouched || self.training.run.is_some() || self.teaching.run.is_some() {
            return;
        }
        let Restored {
            model,
            info,
            name,
            before,
            report,
        } = restored;
        self.session.evals.shown = None;
        self.install_model(model, info, name.clone());
        self.messages.notice = Some(format!(
            "Restored {name}, fine-tuned last session ({}). Undo brings back {}.",
            report.summary(),
            before.name
        ));
        self.teaching.before = Some(before);
        self.teaching.last_report = Some(report);
    }
}
