"""Typed, frozen settings from config/callcontrol.yaml and the environment; fails fast with file, path and reason.

Secrets (ARI password, API token, log salt) come from the environment, never from tracked YAML.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

import holidays
from pydantic import Field, ValidationError, field_validator, model_validator

from callcontrol import numbers
from callcontrol.ami import AmiSettings
from callcontrol.apitokens import parse_api_tokens
from callcontrol.settings_sections import DialOutSettings, FollowUpSettings, Section, SelfServiceSettings
from callcontrol.yamlsource import ConfigError, ConfigIssue, YamlDoc, load_yaml, pydantic_issues, read_text

SETTINGS_FILE = "callcontrol.yaml"

# Environment variable -> (section, key). Environment wins over the YAML file.
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "CALLCONTROL_ARI_URL": ("ari", "url"),
    "CALLCONTROL_ARI_USER": ("ari", "user"),
    "CALLCONTROL_ARI_PASSWORD": ("ari", "password"),
    "CALLCONTROL_ARI_APP": ("ari", "app"),
    "CALLCONTROL_ARI_REST_TRANSPORT": ("ari", "rest_transport"),
    "CALLCONTROL_ARI_REST_WEBSOCKETS": ("ari", "rest_websockets"),
    "CALLCONTROL_AMI_PASSWORD": ("ami", "password"),  # only when callcontrol.yaml has an `ami:` section
    "CALLCONTROL_REDIS_URL": ("redis", "url"),
    "CALLCONTROL_REDIS_PASSWORD": ("redis", "password"),
    "CALLCONTROL_LOG_FORMAT": ("logging", "format"),
    "CALLCONTROL_LOG_LEVEL": ("logging", "level"),
    "CALLCONTROL_LOG_SALT": ("logging", "number_salt"),
    "CALLCONTROL_HTTP_PORT": ("http", "port"),
    "CALLCONTROL_HTTP_BIND": ("http", "bind"),
    "CALLCONTROL_API_TOKENS": ("http", "tokens"),
    "CALLCONTROL_INSTANCE": ("instance", "id"),
    "CALLCONTROL_HEARTBEAT_TTL": ("instance", "heartbeat_ttl"),
}


_OPTIONAL_SECTIONS = {"ami"}  # a secret in the environment does not switch these on: their YAML section does


def _holiday_countries() -> Collection[str]:
    """The country codes the holidays package has a calendar for, read from its registry: its
    list_supported_countries() imports every country module (~0.1 s at each start of a command)."""
    try:
        from holidays.registry import EntityLoader

        return set(EntityLoader.get_country_codes())
    except (ImportError, AttributeError):  # a holidays without that registry: the full list
        return holidays.list_supported_countries()




class CitySettings(Section):
    name: str
    timezone: str = "Europe/Paris"
    country: str = "FR"
    subdivision: str | None = None
    public_number: str
    public_name: str = "Mairie"
    agents_line: str | None = None
    language: str = "fr"
    # External numbers every flow may `transfer` to (toll-fraud guard; flow files can add their own).
    transfer_allow: tuple[str, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Paris") from None
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value.upper() not in _holiday_countries():
            raise ValueError(f"no public-holiday calendar for country {value!r}; use an ISO code such as FR or DE")
        return value.upper()

    @field_validator("public_number", "agents_line")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        return None if value is None else numbers.e164(value, valid=True)


class AriSettings(Section):
    url: str = "http://127.0.0.1:8088"
    user: str = "callcontrol"
    password: str = Field(default="", repr=False)
    app: str = "callcontrol"
    # How REST requests travel: "websocket" (ARI REST over WebSocket, on the events websocket; HTTP while it is
    # down, and for good when Asterisk does not answer its probe) or "http" (every request its own HTTP exchange).
    rest_transport: Literal["websocket", "http"] = "websocket"
    # With "websocket": request-only websockets besides the events one (ARI applications "<app>-rest-<n>"),
    # requests spread over them in turn. Asterisk carries out one websocket's requests one at a time.
    rest_websockets: int = Field(default=3, ge=0, le=16)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (the events websocket URL is derived from it)")
        return value.rstrip("/")


class AsteriskSettings(Section):
    # The PJSIP configuration Asterisk runs with, to check agents' softphones against when ARI cannot be asked;
    # relative to the configuration directory. Absent: that offline check is skipped (check-config says so).
    pjsip_conf: str = "../asterisk-conf/pjsip.conf"


class RedisSettings(Section):
    """One Redis (`url`) or a Sentinel-managed one (`sentinels` + `master_name`); state/connect.py builds the client."""

    url: str = "redis://127.0.0.1:6390/0"
    sentinels: tuple[str, ...] = ()  # "host:port" of each sentinel; set: the master is asked of them
    master_name: str = "mymaster"
    db: int = Field(default=0, ge=0)  # with sentinels (with `url`, the URL's path says it)
    password: str = Field(default="", repr=False)  # CALLCONTROL_REDIS_PASSWORD; the Redis nodes' (not the sentinels')
    max_connections: int = Field(default=64, ge=1)  # per process; beyond, a command waits for a free one...
    pool_timeout: float = Field(default=5.0, gt=0)  # ... this long, then fails
    # Per command, on connection errors, timeouts, no master, READONLY. Default: 8 (~4.5 s, a failover) with
    # sentinels; 0 with one Redis (as before: Redis away fails at once and the call takes its degraded route).
    retries: int | None = Field(default=None, ge=0)
    retry_cap: float = Field(default=1.0, gt=0)  # longest pause between two retries (exponential, jittered)

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix:// (e.g. redis://127.0.0.1:6390/0)")
        return value

    @field_validator("sentinels")
    @classmethod
    def _host_ports(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            host, _, port = item.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{item!r} is not host:port (e.g. 127.0.0.1:26379)")
        return value

    @property
    def command_retries(self) -> int:
        if self.retries is not None:
            return self.retries
        return 8 if self.sentinels else 0

    @model_validator(mode="after")
    def _one_target(self) -> RedisSettings:
        if self.sentinels and "url" in self.model_fields_set:
            raise ValueError("set either redis.url (one Redis) or redis.sentinels (Sentinel), not both")
        if self.sentinels and not self.master_name:
            raise ValueError("redis.master_name: the name the sentinels monitor (e.g. mymaster) is required")
        return self


class DegradedSettings(Section):
    # Where a citizen goes when routing cannot reach Redis (ARI continue into this dialplan context, extension s):
    # by default the fallback route's on-call phone (public caller ID), then voicemail. "" turns it off: the
    # flow's `unavailable` branch plays instead.
    context: str = "callcontrol-degraded"


class LogSettings(Section):
    format: Literal["json", "console"] = "json"
    level: Literal["debug", "info", "warning", "error"] = "info"
    number_salt: str = Field(default="", repr=False)


class HttpSettings(Section):
    """The supervision HTTP server (API, wallboard, metrics): docs/api.md."""

    bind: str = "127.0.0.1"  # an IP address; only loopback unless you put a TLS proxy in front
    port: int = Field(default=8080, ge=0, le=65535)  # 0: the system picks one (logged as http_listening)
    # "role:token,role:token" (roles viewer, switchboard, supervisor): from CALLCONTROL_API_TOKENS, never YAML
    tokens: str = Field(default="", repr=False)
    switchboard_phone: str = ""  # the switchboard's own softphone extension ("pick up" rings it)

    @field_validator("bind")
    @classmethod
    def _address(cls, value: str) -> str:
        import ipaddress

        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every one)") from None
        return value

    @field_validator("tokens")
    @classmethod
    def _tokens(cls, value: str) -> str:
        parse_api_tokens(value)  # the reason names the item, never the token
        return value


class InstanceSettings(Section):
    id: str = ""
    # Seconds without a heartbeat after which another instance takes this one's callers over (heartbeat every
    # third of it). Shorter: a dead instance's citizens wait less; too short: a busy instance is taken for dead.
    heartbeat_ttl: float = Field(default=15.0, ge=1.0, le=300.0)


class Settings(Section):
    city: CitySettings
    ari: AriSettings = AriSettings()
    ami: AmiSettings | None = None  # AstDB writes for the dialplan fallback (callcontrol/ami.py); absent: none
    asterisk: AsteriskSettings = AsteriskSettings()
    redis: RedisSettings = RedisSettings()
    degraded: DegradedSettings = DegradedSettings()
    logging: LogSettings = LogSettings()
    http: HttpSettings = HttpSettings()
    instance: InstanceSettings = InstanceSettings()
    dial_out: DialOutSettings = DialOutSettings()
    self_service: SelfServiceSettings = SelfServiceSettings()
    followup: FollowUpSettings = FollowUpSettings()


def read_secrets_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (the untracked .secrets.env); comments and blank lines ignored."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in read_text(path).splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def load_settings(directory: Path, env: Mapping[str, str]) -> Settings:
    doc = load_yaml(directory / SETTINGS_FILE, display_name=str(directory / SETTINGS_FILE))
    data = _as_mapping(doc)
    from_env: dict[tuple[str, str], str] = {}
    for variable, (section, key) in ENV_OVERRIDES.items():
        if not env.get(variable) or (section in _OPTIONAL_SECTIONS and data.get(section) is None):
            continue
        if data.get(section) is None:
            data[section] = {}
        if isinstance(data[section], dict):
            data[section][key] = env[variable]
            from_env[(section, key)] = variable
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        issues = []
        for issue in pydantic_issues(doc, exc):
            section, _, key = issue.path.partition(".")
            variable = from_env.get((section, key))
            if variable:  # the bad value came from the environment, not from the line of the file
                issue = ConfigIssue(f"environment variable {variable}", None, issue.path, issue.message)
            issues.append(issue)
        raise ConfigError(issues) from None
    if not settings.instance.id:
        settings = settings.model_copy(update={"instance": InstanceSettings(id=settings.ari.app)})
    return settings


def pjsip_conf_path(directory: Path, settings: Settings) -> Path:
    """Where asterisk.pjsip_conf points, spelt from the configuration directory as it was given."""
    return Path(os.path.normpath(directory / settings.asterisk.pjsip_conf))


def _as_mapping(doc: YamlDoc) -> dict[str, Any]:
    if doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        raise ConfigError([ConfigIssue(doc.file, 1, "", "expected a mapping of sections (city:, ari:, ...)")])
    return doc.data
