"""A minimal Asterisk Manager Interface client: AstDB writes only (DBPut, DBDel), where ARI cannot do the job.

ARI refuses `DB()` (a "dangerous" function on TCP interfaces), and the dialplan fallback must read the on-call
holder from AstDB, which survives an Asterisk restart. Each write is one short connection: banner, Login, the
action, Logoff, all under one timeout, so a dropped or silent Asterisk fails fast instead of hanging (no
persistent connection, no reconnect loop; writes are rare: when the duty changes). Not panoramisk: its Manager
keeps a connection with its own reconnect loop and events, far more than two writes need.
AMI is plain TCP with a cleartext login: loopback only (asterisk-conf/manager.conf binds 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools

from pydantic import BaseModel, ConfigDict, Field, field_validator

TIMEOUT_SECONDS = 3.0


class AmiSettings(BaseModel):
    """callcontrol.yaml `ami:`; absent: no AstDB write (the fallback reads the global only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=1, le=65535)
    user: str = "callcontrol"
    password: str = Field(default="", repr=False)  # CALLCONTROL_AMI_PASSWORD (environment or .secrets.env)

    @field_validator("host")
    @classmethod
    def _loopback(cls, value: str) -> str:
        try:
            loopback = value == "localhost" or ipaddress.ip_address(value).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"{value!r}: AMI logs in in clear text, loopback only (e.g. 127.0.0.1)")
        return value


class AmiError(Exception):
    """The write did not happen: connection refused or dropped, timeout, login refused, action refused."""


class AmiClient:
    def __init__(self, settings: AmiSettings, timeout: float = TIMEOUT_SECONDS) -> None:
        self._settings = settings
        self._timeout = timeout
        self._ids = itertools.count(1)

    async def db_put(self, family: str, key: str, value: str) -> None:
        await self._run({"Action": "DBPut", "Family": family, "Key": key, "Val": value})

    async def db_del(self, family: str, key: str) -> None:
        """Delete the entry; an entry already absent is fine."""
        await self._run({"Action": "DBDel", "Family": family, "Key": key}, absent_ok=True)

    async def _run(self, action: dict[str, str], *, absent_ok: bool = False) -> None:
        s = self._settings
        writer = None
        try:
            async with asyncio.timeout(self._timeout):
                reader, writer = await asyncio.open_connection(s.host, s.port)
                banner = await reader.readline()
                if not banner.startswith(b"Asterisk Call Manager"):
                    raise AmiError(f"not an AMI server: {banner[:40]!r}")
                login = await self._ask(reader, writer, {"Action": "Login", "Username": s.user,
                                                         "Secret": s.password, "Events": "off"})
                if login.get("Response") != "Success":
                    raise AmiError(f"login refused for {s.user!r}: {login.get('Message', '')}")
                answer = await self._ask(reader, writer, action)
                message = answer.get("Message", "")
                if answer.get("Response") != "Success" and not (absent_ok and "not found" in message.lower()):
                    raise AmiError(f"{action['Action']} refused: {message}")
                writer.write(b"Action: Logoff\r\n\r\n")  # done: no need to wait for its Goodbye
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            raise AmiError(f"AMI {s.host}:{s.port}: {str(exc) or type(exc).__name__}") from None
        finally:
            if writer is not None:
                writer.close()

    async def _ask(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   fields: dict[str, str]) -> dict[str, str]:
        """Send one action, return its response (events and other messages in between are skipped)."""
        action_id = str(next(self._ids))
        lines = [f"{k}: {v}" for k, v in {**fields, "ActionID": action_id}.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        while True:
            message = _parse(await reader.readuntil(b"\r\n\r\n"))
            if "Response" in message and message.get("ActionID") == action_id:
                return message


def _parse(block: bytes) -> dict[str, str]:
    message: dict[str, str] = {}
    for line in block.decode(errors="replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            message.setdefault(key.strip(), value.strip())
    return message
