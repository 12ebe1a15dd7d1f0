//! Checking tool arguments against the tool's JSON Schema before anything is
//! queued. The schemas come from MCP servers, so they are untrusted: no remote
//! or file `$ref` is ever fetched (jsonschema without its resolver features),
//! and a schema that does not compile is not enforced here (the server still
//! validates). Compiled validators are cached by schema.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use switchboard_core::domain::FieldError;

const CACHE_LIMIT: usize = 2048;

type Cache = Mutex<HashMap<u64, Option<Arc<jsonschema::Validator>>>>;

fn validator(schema: &Value) -> Option<Arc<jsonschema::Validator>> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut hasher = DefaultHasher::new();
    schema.to_string().hash(&mut hasher);
    let key = hasher.finish();
    let cache = CACHE.get_or_init(Cache::default);
    if let Some(found) = cache.lock().expect("schema cache lock").get(&key) {
        return found.clone();
    }
    let compiled = match jsonschema::validator_for(schema) {
        Ok(v) => Some(Arc::new(v)),
        Err(e) => {
            tracing::warn!(error = %e, "a tool's input schema does not compile; arguments are not checked here");
            None
        }
    };
    let mut cache = cache.lock().expect("schema cache lock");
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(key, compiled.clone());
    compiled
}

/// Every violation, located at `body.arguments.<path>`.
pub fn check(schema: &Value, arguments: &Value) -> Result<(), Vec<FieldError>> {
    let Some(validator) = validator(schema) else {
        return Ok(());
    };
    let errors: Vec<FieldError> = validator
        .iter_errors(arguments)
        .take(20)
        .map(|e| {
            let mut loc = vec!["body".to_owned(), "arguments".to_owned()];
            loc.extend(
                e.instance_path()
                    .as_str()
                    .split('/')
                    .skip(1)
                    .map(|s| s.replace("~1", "/").replace("~0", "~")),
            );
            FieldError {
                loc,
                msg: e.to_string(),
            }
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn violations_are_located() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}}, "required": ["a"]});
        assert!(check(&schema, &json!({"a": [1, 2]})).is_ok());
        let errors = check(&schema, &json!({"a": [1, "x"]})).expect_err("invalid");
        assert_eq!(errors[0].loc, ["body", "arguments", "a", "1"]);
        let missing = check(&schema, &json!({})).expect_err("missing");
        assert_eq!(missing[0].loc, ["body", "arguments"]);
        assert!(missing[0].msg.contains("\"a\""));
    }

    #[test]
    fn remote_references_are_not_fetched() {
        let schema = json!({"$ref": "http://169.254.169.254/latest/schema.json"});
        assert!(
            check(&schema, &json!({"anything": true})).is_ok(),
            "an uncompilable schema is not enforced, and nothing is fetched"
        );
    }
}
