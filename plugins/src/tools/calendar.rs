//! Calendar (beta): shown in the Apps menu as "coming soon"; cannot be connected.

use serde_json::{Value, json};

use crate::invoke::{ToolContext, ToolError, ToolOutput};
use crate::{SystemTool, ToolAuth, ToolDescriptor, ToolFunction, register_tool};

pub struct Calendar;

static DESCRIPTOR: ToolDescriptor = ToolDescriptor {
    id: "calendar",
    name: "Google Calendar",
    description: "See and schedule events in your calendar.",
    icon: "calendar",
    category: "productivity",
    auth: ToolAuth::Google {
        scopes: &["https://www.googleapis.com/auth/calendar"],
    },
    is_beta: true,
    functions: &[ToolFunction {
        name: "list_events",
        description: "List events between two times.",
        input_schema: list_events_schema,
        read_only: true,
        destructive: false,
    }],
};

#[async_trait::async_trait]
impl SystemTool for Calendar {
    fn descriptor(&self) -> &ToolDescriptor {
        &DESCRIPTOR
    }

    async fn invoke(&self, _: &ToolContext<'_>, _: &str, _: Value) -> Result<ToolOutput, ToolError> {
        Err(ToolError::new("COMING_SOON", "Google Calendar is coming soon"))
    }
}

register_tool!(CALENDAR);
static CALENDAR: Calendar = Calendar;

fn list_events_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "time_min": {"type": "string", "format": "date-time"},
            "time_max": {"type": "string", "format": "date-time"}
        },
        "required": ["time_min", "time_max"],
        "additionalProperties": false
    })
}
