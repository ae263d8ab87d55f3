//! The runs table: every run of the session and the opened ones, one row each (name, config,
//! parent and branch step, best and final dev accuracy, loss, time, steps/s), sorted by any
//! column; a check box shows or hides a run's curves; a click on a name makes it the timeline's
//! run; Rename, Delete, Save run, Open run and Export table act on it.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::app::format::{fmt_count, fmt_duration};
use crate::app::runs::{RunRecord, Runs};

/// A column of the table (the order shown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Column {
    #[default]
    Number,
    Name,
    Config,
    Parent,
    BestDev,
    FinalDev,
    Loss,
    Time,
    StepsPerSecond,
    Steps,
}

impl Column {
    pub const ALL: [Column; 10] = [
        Column::Number,
        Column::Name,
        Column::Config,
        Column::Parent,
        Column::BestDev,
        Column::FinalDev,
        Column::Loss,
        Column::Time,
        Column::StepsPerSecond,
        Column::Steps,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Number => "#",
            Column::Name => "name",
            Column::Config => "config",
            Column::Parent => "from",
            Column::BestDev => "best dev",
            Column::FinalDev => "final dev",
            Column::Loss => "loss",
            Column::Time => "time",
            Column::StepsPerSecond => "steps/s",
            Column::Steps => "steps",
        }
    }

    /// Orders two runs by this column (runs without a value last).
    pub fn compare(self, a: &RunRecord, b: &RunRecord) -> Ordering {
        let float = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        let order = match self {
            Column::Number => a.id.cmp(&b.id),
            Column::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            Column::Config => a.config_summary().cmp(&b.config_summary()),
            Column::Parent => {
                (a.parent.as_ref().map(|p| (p.id, p.step))).cmp(&b.parent.as_ref().map(|p| (p.id, p.step)))
            }
            Column::BestDev => float(a.best_dev().map(f64::from), b.best_dev().map(f64::from)),
            Column::FinalDev => float(a.final_dev().map(f64::from), b.final_dev().map(f64::from)),
            Column::Loss => float(a.final_loss().map(f64::from), b.final_loss().map(f64::from)),
            Column::Time => a.seconds().total_cmp(&b.seconds()),
            Column::StepsPerSecond => float(a.steps_per_second(), b.steps_per_second()),
            Column::Steps => a.steps().cmp(&b.steps()),
        };
        order.then(a.id.cmp(&b.id))
    }

    /// The cell's text.
    pub fn cell(self, r: &RunRecord) -> String {
        let percent = |v: Option<f32>| v.map_or("-".into(), |v| format!("{:.2}%", v * 100.0));
        match self {
            Column::Number => r.id.to_string(),
            Column::Name => r.name.clone(),
            Column::Config => r.config_summary(),
            Column::Parent => r.parent_text(),
            Column::BestDev => percent(r.best_dev()),
            Column::FinalDev => percent(r.final_dev()),
            Column::Loss => r.final_loss().map_or("-".into(), |l| format!("{l:.4}")),
            Column::Time => fmt_duration(r.seconds()),
            Column::StepsPerSecond => r.steps_per_second().map_or("-".into(), |s| format!("{s:.1}")),
            Column::Steps => format!("{} / {}", fmt_count(r.steps()), fmt_count(r.total_steps)),
        }
    }
}

/// The table's settings and what is being edited.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunsTable {
    pub sort: Column,
    /// Largest first when false.
    pub ascending: bool,
    /// The run selected (Rename, Delete, Save act on it).
    #[serde(skip)]
    pub selected: Option<usize>,
    /// The name being typed for the selected run.
    #[serde(skip)]
    pub renaming: Option<String>,
}

/// What the user asked of the table this frame.
#[derive(Clone, Debug, PartialEq)]
pub enum TableAction {
    /// Show or hide run `id`'s curves.
    Show(usize, bool),
    /// Make run `id` the selected and the timeline's run.
    Select(usize),
    Rename(usize, String),
    Delete(usize),
    Save(usize),
    Open,
    Export,
}

impl RunsTable {
    /// The runs' ids in the table's order.
    pub fn order(&self, runs: &Runs) -> Vec<usize> {
        let mut records: Vec<&RunRecord> = runs.records.iter().collect();
        records.sort_by(|a, b| {
            let order = self.sort.compare(a, b);
            if self.ascending { order } else { order.reverse() }
        });
        records.iter().map(|r| r.id).collect()
    }

    /// Sorts by `column`: a second click on the same column reverses the order.
    pub fn sort_by(&mut self, column: Column) {
        if self.sort == column {
            self.ascending = !self.ascending;
        } else {
            self.sort = column;
            // Names and numbers read best ascending, scores best first.
            self.ascending = matches!(
                column,
                Column::Number | Column::Name | Column::Config | Column::Parent | Column::Loss | Column::Time
            );
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, runs: &Runs) -> Option<TableAction> {
        let mut action = None;
        if self.selected.is_some_and(|id| runs.get(id).is_none()) {
            self.selected = None;
            self.renaming = None;
        }
        ui.horizontal(|ui| {
            ui.strong("Runs");
            let selected = self.selected.and_then(|id| runs.get(id));
            let idle = selected.is_some_and(|r| !r.training);
            if let Some(name) = &mut self.renaming {
                let label = ui.label("New name");
                let edit = ui
                    .add(egui::TextEdit::singleline(name).desired_width(160.0))
                    .labelled_by(label.id);
                edit.request_focus();
                let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if (ui.button("OK").clicked() || enter)
                    && let Some(id) = self.selected
                {
                    let name = name.trim().to_owned();
                    if !name.is_empty() {
                        action = Some(TableAction::Rename(id, name));
                    }
                    self.renaming = None;
                } else if ui.button("Cancel").clicked() {
                    self.renaming = None;
                }
            } else if ui
                .add_enabled(selected.is_some(), egui::Button::new("Rename"))
                .on_hover_text("Rename the selected run")
                .clicked()
            {
                self.renaming = selected.map(|r| r.name.clone());
            }
            if ui
                .add_enabled(idle, egui::Button::new("Delete"))
                .on_hover_text("Remove the selected run, its curves and checkpoints (not while it trains)")
                .clicked()
                && let Some(id) = self.selected
            {
                action = Some(TableAction::Delete(id));
            }
            if ui
                .add_enabled(idle, egui::Button::new("Save run..."))
                .on_hover_text("The selected run as a folder: its checkpoints, curve, settings and parent")
                .clicked()
                && let Some(id) = self.selected
            {
                action = Some(TableAction::Save(id));
            }
            if ui
                .button("Open run...")
                .on_hover_text("A run folder saved earlier")
                .clicked()
            {
                action = Some(TableAction::Open);
            }
            if ui
                .add_enabled(!runs.records.is_empty(), egui::Button::new("Export table (CSV)..."))
                .on_hover_text("This table as a CSV, one row per run")
                .clicked()
            {
                action = Some(TableAction::Export);
            }
            ui.weak(format!(
                "checkpoints: {:.0} MB of {:.0} MB",
                runs.checkpoint_bytes() as f64 / (1 << 20) as f64,
                runs.budget() as f64 / (1 << 20) as f64
            ));
        });
        if runs.records.is_empty() {
            ui.weak("No runs yet: press Train.");
            return action;
        }
        let order = self.order(runs);
        egui::ScrollArea::both()
            .id_salt("runs_table")
            .max_height(ui.available_height().max(60.0))
            .show(ui, |ui| {
                egui::Grid::new("runs_grid").striped(true).show(ui, |ui| {
                    ui.label("show");
                    for column in Column::ALL {
                        let arrow = match (self.sort == column, self.ascending) {
                            (false, _) => "",
                            (true, true) => " ^",
                            (true, false) => " v",
                        };
                        if ui
                            .button(format!("{}{arrow}", column.title()))
                            .on_hover_text("Sort by this column (again: reverse)")
                            .clicked()
                        {
                            self.sort_by(column);
                        }
                    }
                    ui.end_row();
                    for id in order {
                        let Some(r) = runs.get(id) else { continue };
                        let mut visible = r.visible;
                        if ui
                            .checkbox(&mut visible, "")
                            .on_hover_text(format!("Show the curves of {}", r.name))
                            .changed()
                        {
                            action = Some(TableAction::Show(id, visible));
                        }
                        for column in Column::ALL {
                            let text = column.cell(r);
                            if column == Column::Name {
                                let chosen = self.selected == Some(id);
                                let name = if r.training { format!("{text} (training)") } else { text };
                                if ui.selectable_label(chosen, name).clicked() {
                                    self.selected = Some(id);
                                    self.renaming = None;
                                    action = Some(TableAction::Select(id));
                                }
                            } else {
                                ui.label(text);
                            }
                        }
                        ui.end_row();
                    }
                });
            });
        action
    }
}

/// The table's CSV header.
pub const CSV_HEADER: [&str; 12] = [
    "run",
    "name",
    "config",
    "parent",
    "branch_step",
    "best_dev_accuracy",
    "final_dev_accuracy",
    "final_loss",
    "seconds",
    "steps",
    "steps_per_second",
    "status",
];

/// The table as CSV rows in `ids` order (blank where a value is absent).
pub fn write_csv(out: impl std::io::Write, records: &[RunRecord]) -> std::io::Result<usize> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_HEADER).map_err(std::io::Error::other)?;
    let opt = |v: Option<f32>| v.map_or_else(String::new, |v| v.to_string());
    for r in records {
        w.write_record([
            r.id.to_string(),
            r.name.clone(),
            r.config_summary(),
            r.parent.as_ref().map_or_else(String::new, |p| p.name.clone()),
            r.parent.as_ref().map_or_else(String::new, |p| p.step.to_string()),
            opt(r.best_dev()),
            opt(r.final_dev()),
            opt(r.final_loss()),
            format!("{:.3}", r.seconds()),
            r.steps().to_string(),
            r.steps_per_second().map_or_else(String::new, |s| format!("{s:.3}")),
            r.status().to_owned(),
        ])
        .map_err(std::io::Error::other)?;
    }
    w.flush()?;
    Ok(records.len())
}
