//! The application's own details and statistics.

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use super::Call;
use crate::api::{AppState, json};
use crate::error::ApiError;

#[derive(Serialize)]
struct Details {
    app: AppInfo,
    message: &'static str,
    success: bool,
}

#[derive(Serialize)]
struct AppInfo {
    app_id: i64,
    name: String,
    plan: &'static str,
    sms_enabled: bool,
    phone_calls_enabled: bool,
    onetouch_enabled: bool,
}

/// `GET app/details`.
pub async fn details(call: Call) -> Response {
    json(&Details {
        app: AppInfo {
            app_id: call.app.id,
            name: call.app.name,
            plan: "pay_as_you_go",
            sms_enabled: call.app.sms_enabled,
            phone_calls_enabled: call.app.calls_enabled,
            onetouch_enabled: false,
        },
        message: "Application information.",
        success: true,
    })
}

#[derive(Serialize)]
struct Stats {
    app_id: i64,
    count: usize,
    message: &'static str,
    stats: Vec<Month>,
    success: bool,
    total_users: i64,
}

/// Exactly the seven keys authy-client checks with `equalKeys`.
#[derive(Serialize)]
struct Month {
    api_calls_count: i64,
    auths_count: i64,
    calls_count: i64,
    month: &'static str,
    sms_count: i64,
    users_count: i64,
    year: i32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `GET app/stats`.
pub async fn stats(State(state): State<AppState>, call: Call) -> Result<Response, ApiError> {
    let (months, total_users) = state.domain.stats(&call.app, call.now).await?;
    let stats: Vec<Month> = months
        .iter()
        .map(|m| Month {
            api_calls_count: m.api_calls,
            auths_count: m.auths,
            calls_count: m.calls,
            month: MONTHS
                .get(usize::from(m.month.saturating_sub(1)))
                .copied()
                .unwrap_or("January"),
            sms_count: m.sms,
            users_count: m.users,
            year: m.year,
        })
        .collect();
    Ok(json(&Stats {
        app_id: call.app.id,
        count: stats.len(),
        message: "Monthly statistics.",
        stats,
        success: true,
        total_users,
    }))
}
