"""The studio web app (FastAPI): blind review of a run's outputs, one item at a time.

Pages: `/` (annotators and their progress), `/review?annotator=NAME&kind=point|pair` (the next
item this annotator has not judged; forms post to `/judge`, which stores the judgment in its own
transaction and redirects to the next item), `/items?kind=&page=` (the item list, paged on the
server), `/agreement`. `POST /api/judge` takes the same fields as JSON and answers JSON.

Model names are never sent to the review page. Every text is escaped by Jinja's autoescaping;
the page's script only maps keys to buttons. With a token configured, every request needs it
(`Authorization: Bearer TOKEN`, or `?token=TOKEN` once, which sets a cookie): else 401.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from evalkit.judges.rubric import Rubric
from evalkit.store.ratings_db import Item, ItemKind, RatingError, RatingsDB
from evalkit.studio.items import left_model
from evalkit.studio.playground import PlaygroundModel
from evalkit.studio.playground_routes import add_playground
from evalkit.studio.prompts import TaskPicker

HERE = Path(__file__).parent
PAGE_SIZE = 50
COOKIE = "evalkit_studio_token"
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass
class Studio:
    db: RatingsDB
    rubric: Rubric
    token: str | None


def _kind(value: str | None) -> ItemKind:
    if value in (None, "", "point"):
        return "point"
    if value == "pair":
        return "pair"
    raise RatingError(f"kind {value[:20]!r}: expected point or pair")


def _page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    return HTMLResponse(_ENV.get_template(name).render(**values), status_code=status)


def _shown(studio: Studio, annotator: str, item: Item) -> dict[str, Any]:
    """What the page shows of an item: no model names; a pair's outputs in this annotator's
    side order."""
    shown: dict[str, Any] = {"id": item.id, "prompt": item.prompt, "reference": item.reference}
    if item.kind == "point":
        shown["outputs"] = [item.output_a]
    else:
        left = left_model(studio.db, annotator, item)
        pair = [item.output_a, item.output_b]
        shown["outputs"] = pair if left == item.model_a else pair[::-1]
    return shown


def judge(studio: Studio, fields: dict[str, str]) -> str:
    """Apply one action (`rate:N`, `vote:A|B|tie`, `skip`, `undo`) for fields[annotator] on
    fields[item_id]; returns the annotator. Raises RatingError (nothing stored)."""
    annotator, action = fields.get("annotator", ""), fields.get("action", "")
    kind, item_id, db = _kind(fields.get("kind")), fields.get("item_id", ""), studio.db
    if annotator not in db.annotators():
        raise RatingError(f"unknown annotator '{annotator[:64]}'", status=404)
    if action == "undo":
        db.undo(annotator, kind)
    elif action == "skip":
        db.skip(annotator, item_id, kind)
    elif action.startswith("rate:"):
        try:
            score = int(action[5:])
        except ValueError:
            raise RatingError(f"score {action[5:][:20]!r} is not an integer") from None
        assert studio.rubric.scale is not None
        db.rate(annotator, item_id, studio.rubric.name, score, studio.rubric.scale)
    elif action.startswith("vote:"):
        item = db.item(item_id)
        if item.kind != "pair":
            raise RatingError(f"item '{item_id}' is a {item.kind} item, not a pair item")
        db.vote(annotator, item_id, action[5:], left_model(db, annotator, item))
    else:
        raise RatingError(f"action {action[:20]!r}: expected rate:N, vote:A|B|tie, skip or undo")
    return annotator


def _token_ok(studio: Studio, request: Request) -> bool:
    assert studio.token is not None
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    given = given or request.cookies.get(COOKIE, "") or request.query_params.get("token", "")
    return hmac.compare_digest(given.encode(), studio.token.encode())


def _same_origin(request: Request) -> bool:
    """A state-changing request must come from the studio's own pages: a browser sends Origin
    with every cross-site POST (a form on another site could otherwise rate through a visitor's
    browser on 127.0.0.1). Clients that send no Origin (scripts, curl) pass."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def create_app(
    db: RatingsDB,
    rubric: Rubric,
    token: str | None,
    playground: Sequence[PlaygroundModel] = (),
    picker: TaskPicker | None = None,
    sets_root: Path = Path("prompt_sets"),
) -> FastAPI:
    """The app over a filled ratings database; `rubric` must be pointwise (it has a scale);
    `playground`: the models the playground offers (none: the page says how to add some);
    `picker`: the tasks its sample picker offers (default: every task evalkit finds);
    `sets_root`: where saved prompt sets (and their runs) are written."""
    studio = Studio(db, rubric, token)
    app = FastAPI(title="evalkit studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _guard(app, studio)
    _pages(app, studio)
    _review(app, studio)
    add_playground(app, _page, _json_object, playground, picker or TaskPicker(), sets_root)
    return app


def _guard(app: FastAPI, studio: Studio) -> None:
    """The token on every request, the Content-Security-Policy, errors as 400/404 answers."""

    @app.middleware("http")
    async def require_token(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if studio.token is not None and not _token_ok(studio, request):
            return PlainTextResponse("401: missing or wrong token", status_code=401)
        if request.method != "GET" and not _same_origin(request):
            return PlainTextResponse("403: a request from another site", status_code=403)
        response = await call_next(request)
        if studio.token is not None and request.query_params.get("token"):
            response.set_cookie(COOKIE, studio.token, httponly=True, samesite="strict")
        if request.url.path.startswith("/prompt-runs/"):  # a run's report: its own CSP (meta)
            response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
            return response
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
        return response

    @app.exception_handler(RatingError)
    async def rating_error(request: Request, exc: RatingError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return _page("error.html", exc.status, message=str(exc))


def _pages(app: FastAPI, studio: Studio) -> None:
    """The start page, the paged item list, agreement."""
    db = studio.db

    @app.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        rows = [
            {"name": a, "point": db.progress(a, "point"), "pair": db.progress(a, "pair")}
            for a in db.annotators()
        ]
        return _page("index.html", rubric=studio.rubric, annotators=rows, run=db.get_meta("run"))

    @app.get("/items", response_class=HTMLResponse)
    async def items(kind: str = "point", page: int = 0) -> HTMLResponse:
        item_kind, page = _kind(kind), max(page, 0)
        rows = db.page(item_kind, page * PAGE_SIZE, PAGE_SIZE)
        return _page("items.html", kind=item_kind, page=page, items=rows, size=PAGE_SIZE)

    @app.get("/agreement", response_class=HTMLResponse)
    async def agreement() -> HTMLResponse:
        from evalkit.analysis.ratings import agreement_rows

        return _page("agreement.html", rows=agreement_rows(db))


def _review(app: FastAPI, studio: Studio) -> None:
    """Annotators, the review page, and judgments from its forms or as JSON."""
    db = studio.db

    @app.post("/annotator")
    async def add_annotator(request: Request) -> Response:
        fields = _form(await request.body())
        db.add_annotator(fields.get("annotator", ""))
        kind = _kind(fields.get("kind"))
        name = quote(fields["annotator"].strip())
        return RedirectResponse(f"/review?annotator={name}&kind={kind}", status_code=303)

    @app.get("/review", response_class=HTMLResponse)
    async def review(annotator: str, kind: str = "point") -> HTMLResponse:
        item_kind = _kind(kind)
        if annotator not in db.annotators():
            raise RatingError(f"unknown annotator '{annotator[:64]}'", status=404)
        item = db.next_item(annotator, item_kind)
        return _page(
            "review.html",
            annotator=annotator,
            kind=item_kind,
            rubric=studio.rubric,
            item=None if item is None else _shown(studio, annotator, item),
            progress=db.progress(annotator, item_kind),
        )

    @app.post("/judge")
    async def judge_form(request: Request) -> Response:
        fields = _form(await request.body())
        annotator = judge(studio, fields)
        kind = _kind(fields.get("kind"))
        return RedirectResponse(f"/review?annotator={quote(annotator)}&kind={kind}", 303)

    @app.post("/api/judge")
    async def judge_json(request: Request) -> JSONResponse:
        fields = _json_object(await request.body())
        annotator = judge(studio, {k: str(v) for k, v in fields.items()})
        kind = _kind(fields.get("kind"))
        item = db.next_item(annotator, kind)
        return JSONResponse(
            {
                "ok": True,
                "next": None if item is None else _shown(studio, annotator, item),
                "progress": db.progress(annotator, kind),
            }
        )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(body)
    except ValueError:
        raise RatingError("the body is not JSON") from None
    if not isinstance(fields, dict):
        raise RatingError("the body must be a JSON object")
    return fields


def _form(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (the only kind the pages send)."""
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise RatingError("the form is not UTF-8") from None
    return {k: v[-1] for k, v in parsed.items()}
