"""Typed access to the gateway's services for routes (built once by bot.services at start)."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from bot.services import GatewayServices


def services_of(connection: HTTPConnection) -> GatewayServices:
    return connection.app.state.services


async def gateway_services(connection: HTTPConnection) -> GatewayServices:
    # async: a plain function as a dependency would cost a thread-pool hop on every request
    return services_of(connection)


Services = Annotated[GatewayServices, Depends(gateway_services)]
