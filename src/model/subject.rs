//! What a fleet row is about: an EC2 instance or an ECS task, with the questions every layer
//! asks of either (id, name, interfaces, liveness) answered in one place.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::task::Task;
use super::{Instance, NetworkInterface};

/// The kind of a row, as the KIND column, the snapshot and the filter (`kind:task`) name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An EC2 instance.
    Instance,
    /// An ECS task.
    Task,
}

impl Kind {
    /// `instance` / `task`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Instance => "instance",
            Kind::Task => "task",
        }
    }
}

/// An EC2 instance or an ECS task.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "instances are most rows: boxing them would add an indirection to every row"
)]
pub enum Subject {
    /// An EC2 instance.
    Instance(Instance),
    /// An ECS task.
    Task(Box<Task>),
}

impl Subject {
    /// Instance or task.
    pub fn kind(&self) -> Kind {
        match self {
            Subject::Instance(_) => Kind::Instance,
            Subject::Task(_) => Kind::Task,
        }
    }

    /// The key of the row in its scope: the instance id, or the task ARN.
    pub fn id(&self) -> &str {
        match self {
            Subject::Instance(i) => &i.instance_id,
            Subject::Task(t) => &t.task_arn,
        }
    }

    /// The id as the ID column shows it: the instance id, or `task/` and the task id.
    pub fn display_id(&self) -> String {
        match self {
            Subject::Instance(i) => i.instance_id.clone(),
            Subject::Task(t) => format!("task/{}", t.task_id()),
        }
    }

    /// The instance, for a row about one.
    pub fn instance(&self) -> Option<&Instance> {
        match self {
            Subject::Instance(i) => Some(i),
            Subject::Task(_) => None,
        }
    }

    /// The task, for a row about one.
    pub fn task(&self) -> Option<&Task> {
        match self {
            Subject::Instance(_) => None,
            Subject::Task(t) => Some(t),
        }
    }

    /// What the NAME column shows: the instance's Name tag; a task's service, or `standalone`
    /// and its family for a task no service started.
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Subject::Instance(i) => i.name.as_str().into(),
            Subject::Task(t) => match &t.service {
                Some(s) => s.as_str().into(),
                None => format!("standalone {}", t.family()).into(),
            },
        }
    }

    /// What the TYPE column shows: the instance type, or the task definition `family:revision`.
    pub fn type_label(&self) -> &str {
        match self {
            Subject::Instance(i) => &i.instance_type,
            Subject::Task(t) => &t.task_definition,
        }
    }

    /// The EC2 instance type, for an instance.
    pub fn instance_type(&self) -> Option<&str> {
        self.instance().map(|i| i.instance_type.as_str())
    }

    /// Lifecycle state in lower case (`running`, `stopped`, a task's `pending`...).
    pub fn state_label(&self) -> String {
        match self {
            Subject::Instance(i) => i.state.as_str().to_string(),
            Subject::Task(t) => t.last_status.to_ascii_lowercase(),
        }
    }

    /// True while it can run code (and burn CPU).
    pub fn is_live(&self) -> bool {
        match self {
            Subject::Instance(i) => i.state.is_live(),
            Subject::Task(t) => t.is_live(),
        }
    }

    /// Launch time of an instance, start time of a task.
    pub fn launched(&self) -> Option<DateTime<Utc>> {
        match self {
            Subject::Instance(i) => i.launch_time,
            Subject::Task(t) => t.started_at,
        }
    }

    /// The interfaces traffic reaches it through (see [`Task::interfaces`]).
    pub fn interfaces(&self) -> &[NetworkInterface] {
        match self {
            Subject::Instance(i) => &i.interfaces,
            Subject::Task(t) => &t.interfaces,
        }
    }

    /// First public IPv4 address on any interface.
    pub fn public_ip(&self) -> Option<&str> {
        self.interfaces()
            .iter()
            .find_map(|n| n.public_ip.as_deref())
    }

    /// True when it has an internet-routable address (public IPv4 or any IPv6).
    pub fn is_reachable(&self) -> bool {
        super::is_reachable(self.interfaces())
    }
}
