//! GetCallerIdentity: the account, ARN and user id of whoever signed the request — an account's
//! root (`arn:aws:iam::<account>:root`, user id = account) or an STS session
//! (`arn:aws:sts::<account>:assumed-role/<role>/<session>`, user id `AROA…:<session>`).

use crate::error::AwsResult;
use crate::region::RegionState;
use serde_json::{json, Value};

/// GetCallerIdentity.
pub fn get_caller_identity(st: &mut RegionState, _input: &Value) -> AwsResult<Value> {
    let c = &st.caller;
    Ok(json!({"UserId": c.user_id, "Account": c.account, "Arn": c.arn}))
}
