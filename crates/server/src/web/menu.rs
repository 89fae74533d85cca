//! The menu on a phone: the bar there shows the clinic's name and "Menu", and this page
//! lists the links the bar shows on a wider screen (the same partial,
//! `nav_links.html`), one per line with room for a thumb.

use askama::Template;
use axum::response::Response;

use super::pages::{render, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;

#[derive(Template)]
#[template(path = "menu.html")]
struct MenuPage<'a> {
    page: &'a Page,
}

pub async fn menu(w: WebCtx, me: SignedIn) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/menu");
    Ok(render(&MenuPage { page: &page }))
}
