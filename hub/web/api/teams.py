"""Team views: the teams a conversation can be put in (`POST /conversations/{id}/team`)."""

from __future__ import annotations

from hub.actions.teams import list_teams
from hub.web.api import pages
from hub.web.api.calls import Call
from hub.web.api.schemas import PageQuery, TeamOut, TeamPage
from hub.web.api.spec import ApiRoute


async def list_teams_view(call: Call) -> TeamPage:
    query = call.query_as(PageQuery)
    after = pages.decode_id(query.cursor) or 0
    async with call.hub.db.session() as session:
        teams = sorted((t for t in await list_teams(session) if t.id > after), key=lambda t: t.id)
    page = teams[: query.limit]
    more = len(teams) > query.limit
    return TeamPage(
        items=[
            TeamOut(id=t.id, name=t.name, timezone=t.timezone, member_ids=list(t.member_ids))
            for t in page
        ],
        next_cursor=pages.after_id(page[-1].id) if more else None,
    )


ROUTES = [
    ApiRoute(
        "GET",
        "/teams",
        list_teams_view,
        "List teams with their members, oldest first",
        TeamPage,
        query=PageQuery,
        tags=("teams",),
    ),
]
