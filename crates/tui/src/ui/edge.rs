//! The edge-auth view's state: edge-auth's comparison of the three options, measured in
//! the background when the view first opens (`r` measures again).

use edge_auth::compare::{CompareOptions, Comparison, compare};
use tokio::sync::mpsc;

use super::app::{KeyInput, Message};
use super::export::EdgeExport;

/// What the view shows.
#[derive(Debug, Clone)]
pub(crate) enum EdgeStatus {
    NotMeasured,
    Measuring,
    Done(Box<Comparison>),
    Failed(String),
}

/// The view's state.
#[derive(Debug, Clone)]
pub(crate) struct EdgeState {
    pub status: EdgeStatus,
}

/// What the background measurement reports.
#[derive(Debug)]
pub(crate) enum EdgeEvent {
    Done(Result<Box<Comparison>, String>),
}

/// What the state asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EdgeEffect {
    Measure,
}

pub(crate) use crate::edge_rows::support;

impl EdgeState {
    pub(crate) fn new() -> Self {
        Self {
            status: EdgeStatus::NotMeasured,
        }
    }

    pub(crate) fn busy(&self) -> bool {
        matches!(self.status, EdgeStatus::Measuring)
    }

    fn measure(&mut self) -> Option<EdgeEffect> {
        if self.busy() {
            return None;
        }
        self.status = EdgeStatus::Measuring;
        Some(EdgeEffect::Measure)
    }

    pub(crate) fn on_open(&mut self) -> Option<EdgeEffect> {
        matches!(self.status, EdgeStatus::NotMeasured)
            .then(|| self.measure())
            .flatten()
    }

    pub(crate) fn key(&mut self, key: KeyInput) -> Option<EdgeEffect> {
        (key == KeyInput::Char('r')).then(|| self.measure()).flatten()
    }

    pub(crate) fn handle(&mut self, event: EdgeEvent) {
        let EdgeEvent::Done(result) = event;
        self.status = match result {
            Ok(comparison) => EdgeStatus::Done(comparison),
            Err(reason) => EdgeStatus::Failed(reason),
        };
    }

    /// The comparison as rows for the design page, and as JSON.
    pub(crate) fn export_inputs(&self) -> Option<EdgeExport> {
        let EdgeStatus::Done(comparison) = &self.status else {
            return None;
        };
        let rows = crate::edge_rows::design_rows(comparison);
        Some(EdgeExport {
            rows,
            comparison_json: serde_json::to_string_pretty(comparison.as_ref()).unwrap_or_default() + "\n",
        })
    }
}

/// Runs the measurement off the UI loop.
pub(crate) struct EdgeWorker {
    tx: mpsc::UnboundedSender<Message>,
}

impl EdgeWorker {
    pub(crate) fn new(tx: mpsc::UnboundedSender<Message>) -> Self {
        Self { tx }
    }

    pub(crate) fn perform(&mut self, effect: EdgeEffect) {
        let EdgeEffect::Measure = effect;
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = compare(&CompareOptions {
                quick: true,
                budget_ms: None,
            })
            .map(Box::new)
            .map_err(|e| e.to_string());
            let _ = tx.send(Message::Edge(EdgeEvent::Done(result)));
        });
    }
}
