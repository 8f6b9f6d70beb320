//! `GET /images`: the images present in the container runtime, which a
//! launch uses without pulling.

use axum::extract::State;
use miniaws_wire::Image;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::Data;
use crate::state::AppState;
use crate::views;

pub(crate) async fn images(
    State(state): State<AppState>,
    Auth(_caller): Auth,
) -> Result<Data<Vec<Image>>, ApiError> {
    let images = state.compute.images().await?;
    Ok(Data(images.into_iter().map(views::image).collect()))
}
