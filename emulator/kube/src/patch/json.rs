//! JSON patch (RFC 6902) through the `json-patch` crate; a malformed patch or a failed
//! operation (including `test`) is a client error, never a 500.

use crate::error::{KubeApiError, KubeResult};
use serde_json::Value;

/// Applies an RFC 6902 patch document to `target`.
pub fn json_patch(target: &mut Value, patch: &Value) -> KubeResult<()> {
    let p: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| KubeApiError::bad_request(format!("error decoding patch: {e}")))?;
    json_patch::patch(target, &p).map_err(|e| {
        KubeApiError::new_invalid_patch(format!(
            "the server rejected our request due to an error in our request: {e}"
        ))
    })
}

impl KubeApiError {
    /// 422 for a JSON patch whose operations cannot be applied.
    pub fn new_invalid_patch(message: String) -> KubeApiError {
        KubeApiError {
            code: 422,
            reason: "Invalid",
            message,
            details: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applies_and_rejects() {
        let mut t = json!({"a": [1]});
        assert!(json_patch(&mut t, &json!([{"op": "add", "path": "/a/-", "value": 2}])).is_ok());
        assert_eq!(t, json!({"a": [1, 2]}));
        let e = json_patch(&mut t, &json!([{"op": "test", "path": "/a/0", "value": 9}])).err();
        assert_eq!(e.map(|e| e.code), Some(422));
        assert_eq!(
            json_patch(&mut t, &json!({"op": 1})).err().map(|e| e.code),
            Some(400)
        );
    }
}
