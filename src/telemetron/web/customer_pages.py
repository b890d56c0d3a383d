"""The customer page: details, devices and tickets (open first), linked from every ticket."""

from __future__ import annotations

from starlette.responses import Response

from telemetron.web import customer_data
from telemetron.web.pages import Web, page


@page()
async def customer(web: Web) -> Response:
    data = await web.run(customer_data.customer_page, web.request.path_params["customer_id"][:40])
    return web.render("customer.html", **data)
