"""A site's gateways: which gateway product (a profile of `appliance/hw/profiles/`) sits at
which address (or registers as which SIP account), and what each of its ports serves - a
trunk group (with the line's name where calls bring no called number) or an agent seat.

A trunk group no gateway serves keeps its plain meaning: `channels` lines of its `kind`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from appliance.config.ivr import SITE_FOLDER
from appliance.config.live import parse_contact
from appliance.config.values import (
    FieldProblems,
    Frozen,
    Identifier,
    Problem,
    Seconds,
    format_loc,
)
from appliance.hw import TRUNK_GROUP_KIND, Capabilities, GatewayProfile, Role
from appliance.hw.profile import Tones

PROFILES_DIR = Path(__file__).resolve().parent.parent / "hw" / "profiles"


def load_profile(path: Path) -> GatewayProfile:
    """The profile in the YAML file at `path`. Raises FileNotFoundError if there is none,
    ValueError naming the file and each field in error otherwise."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return GatewayProfile.model_validate(data)
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: {error}") from None
    except ValidationError as error:
        problems = "; ".join(f"{format_loc(tuple(e['loc']))}: {e['msg']}"
                             for e in error.errors())
        raise ValueError(f"{path}: {problems}") from None


@cache
def builtin_profiles() -> Mapping[str, GatewayProfile]:
    """The built-in gateway profiles by name (`fxo-4`, `fxo-4-silent`, `fxs-8`, `e1-30`, `e1-60`,
    `pbx-16-192`)."""
    profiles = (load_profile(path) for path in sorted(PROFILES_DIR.glob("*.yaml")))
    return {profile.profile: profile for profile in profiles}


def _check_address(value: str) -> str:
    parse_contact(value)
    return value


class PortMap(Frozen):
    """Ports `ports` (a number or a range "1-4") of a gateway serve either `trunk_group`
    (calls on them are told apart by `line` where they bring no called number) or the agent
    seats `seats` (an id or a range, one seat per port, in order)."""

    ports: Annotated[str, Field(min_length=1)]
    trunk_group: Identifier | None = None
    line: Annotated[str, Field(min_length=1)] | None = None
    seats: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _check_target(self) -> PortMap:
        if (self.trunk_group is None) == (self.seats is None):
            raise ValueError("expected either trunk_group or seats")
        if self.line is not None and self.trunk_group is None:
            raise ValueError("a line belongs to a trunk group's ports; got seats")
        return self

    def numbers(self) -> list[int]:
        first, _, last = self.ports.partition("-")
        if not (first.isdigit() and (last or first).isdigit()) or int(last or first) < int(first):
            raise ValueError(f"expected a port number or a range like '1-4'; got {self.ports!r}")
        return list(range(int(first), int(last or first) + 1))


GATEWAYS_FOLDER = "gateways_folder"
"""Key of the validation context that names the folder of the file that gives the site's
`gateways` section: a profile file is relative to it (to `SITE_FOLDER`, then the current
folder, when the context has none)."""


class LineDisconnect(Frozen):
    """A site's disconnect supervision for a gateway's FXO lines, over its profile's: the
    fields of a profile's `disconnect`, each optional."""

    supervision: Literal["exact", "tone", "timeout"] | None = None
    delay: Seconds | None = None


_HEX32 = r"[0-9a-f]{32}"
_HEX64 = r"[0-9a-f]{64}"


class GatewayRegistration(Frozen):
    """How a gateway with no fixed address registers with the appliance: `per: gateway` - one
    account `user` (a trunk account: the port number in the Request-URI's user part); `per:
    port` - an account for each port, port n as `<user><n>` (user `fxs1-` gives `fxs1-1`,
    `fxs1-2` ...; user `10` gives `101` ... `108`), all with the one `password`, as installers
    set up a Grandstream HT8xx's or a Dinstar's port accounts.

    Credentials as a phone's: the `password`, or for a gateway account its hashes `ha1_md5`
    and/or `ha1_sha256` (`ccbox passwd USER --realm REALM`). A hash is one user's, so an account
    per port needs the password."""

    user: Annotated[str, Field(pattern=r"[A-Za-z0-9_.+-]+")]
    password: Annotated[str, Field(min_length=1)] | None = None
    ha1_md5: Annotated[str, Field(pattern=_HEX32)] | None = None
    ha1_sha256: Annotated[str, Field(pattern=_HEX64)] | None = None
    per: Literal["gateway", "port"] = "gateway"

    @model_validator(mode="after")
    def _check_credentials(self) -> GatewayRegistration:
        hashes = self.ha1_md5 is not None or self.ha1_sha256 is not None
        if (self.password is None) == (not hashes):
            raise ValueError("expected a password, or ha1_md5 and/or ha1_sha256 (not both "
                             "kinds)")
        if hashes and self.per == "port":
            raise ValueError("per: port needs a password: a ha1 hashes one account's name, "
                             "and each port has its own")
        return self

    def account(self, port: int | None) -> str:
        """The account gateway (None) or port `port` registers as."""
        return self.user if port is None else f"{self.user}{port}"

    def hashes(self) -> dict[str, str]:
        """The given ha1 hashes by digest algorithm (none with a password)."""
        found = {"MD5": self.ha1_md5, "SHA-256": self.ha1_sha256}
        return {name: value for name, value in found.items() if value is not None}


class SiteGateway(Frozen):
    """A gateway at `address` (host:port), or one that registers (`register`) and is reached
    where its registration says; exactly one of the two. `port_in` says how its SIP tells its
    ports apart: `user` - one SIP endpoint for the gateway, the port number in the
    Request-URI's user part (`sip:3@box`, or `sip:port3@box`); `source` - an endpoint per
    port, port n sending from the address's SIP port + n - 1 (statically configured, one UDP
    port a line). A registering
    gateway tells its ports apart by the Request-URI's user part (`per: gateway`) or by the
    account each port registered as (`per: port`); `port_in: source` needs an address.

    `profile` names a built-in profile or a profile file (YAML, relative to the site file;
    an absolute path after validation). `tones` and `disconnect` set up this gateway's lines
    over its profile's (as a profile gives them)."""

    # A dumped site (a sweep's workers, a reload's comparison) names the field, not its alias.
    model_config = ConfigDict(**Frozen.model_config, populate_by_name=True)

    name: Identifier
    profile: Annotated[str, Field(min_length=1)]
    address: Annotated[str, Field(min_length=1)] | None = None
    # `register` in the file (a BaseModel attribute has that name).
    registration: GatewayRegistration | None = Field(default=None, alias="register")
    port_in: Literal["user", "source"] = "user"
    tones: Tones | None = None
    disconnect: LineDisconnect | None = None
    ports: list[PortMap] = Field(default_factory=list)
    _product: GatewayProfile = PrivateAttr()

    @field_validator("profile")
    @classmethod
    def _absolute_profile(cls, profile: str, info: ValidationInfo) -> str:
        if profile in builtin_profiles():
            return profile
        context = info.context or {}
        folder = context.get(GATEWAYS_FOLDER, context.get(SITE_FOLDER, "."))
        return str((Path(folder) / Path(profile).expanduser()).absolute())

    @model_validator(mode="after")
    def _check(self) -> SiteGateway:
        _check_reach(self)
        product = _product(self.profile)
        disconnect = self.disconnect and self.disconnect.model_dump(exclude_none=True)
        try:
            self._product = product.with_lines(self.tones, disconnect)
        except ValueError as error:  # tone plans share one ring: only `disconnect` can fail
            raise FieldProblems([(("disconnect",), str(error))]) from None
        return self

    def accounts(self) -> dict[str, int | None]:
        """The SIP accounts the gateway registers as, each with its port number (None: the
        gateway's one account); empty for a gateway at an address."""
        registration = self.registration
        if registration is None:
            return {}
        if registration.per == "gateway":
            return {registration.user: None}
        numbers = (int(number) for number, _ in self.product().layout())
        return {registration.account(number): number for number in numbers}

    def product(self) -> GatewayProfile:
        """The gateway's product as this site sets up its lines (`tones`, `disconnect`):
        what both drivers build its ports from."""
        return self._product


def _check_reach(gateway: SiteGateway) -> None:
    if (gateway.address is None) == (gateway.registration is None):
        raise FieldProblems([(("address",), "expected either address (host:port) or register "
                              "({user, password, per})")])
    if gateway.address is not None:
        try:
            _check_address(gateway.address)
        except ValueError as error:
            raise FieldProblems([(("address",), str(error))]) from None
    elif gateway.port_in == "source":
        raise FieldProblems([(("port_in",), "port_in: source needs an address; a registering "
                              "gateway's ports are told apart by register.per")])


def _product(profile: str) -> GatewayProfile:
    """The built-in profile `profile`, or the one in the file at that path."""
    found = builtin_profiles().get(profile)
    if found is not None:
        return found
    try:
        return load_profile(Path(profile))
    except FileNotFoundError:
        raise FieldProblems([(("profile",), f"no gateway profile {profile!r}: no such file, "
                              f"nor a built-in one ({', '.join(builtin_profiles())})")]) from None
    except ValueError as error:
        raise FieldProblems([(("profile",), str(error))]) from None


def gateway_problems(gateways: Sequence[SiteGateway], site: Any,
                     expand: Callable[[str], tuple[str, ...]]) -> Iterator[Problem]:
    """Every port mapped once, to a trunk group of a matching kind or to a seat of the site;
    a group served by gateways has as many channels as ports; a route's line is one the
    group's ports carry. `expand` turns a seat range into ids."""
    names = [g.name for g in gateways]
    for index, name in enumerate(names):
        if name in names[:index]:
            yield (("gateways", index, "name"), f"gateway {name!r} is named twice")
    served: dict[str, list[str | None]] = {}
    for index, gateway in enumerate(gateways):
        yield from _port_problems(gateway, ("gateways", index), site, expand, served)
    yield from _channel_problems(site, served)
    yield from _account_problems(gateways, site)


def _account_problems(gateways: Sequence[SiteGateway], site: Any) -> Iterator[Problem]:
    """A registering gateway's accounts are nobody else's: no phone's, no other gateway's."""
    taken = {phone.user: "a phone" for phone in site.sip.phones}
    for index, gateway in enumerate(gateways):
        clash = next((account for account in gateway.accounts() if account in taken), None)
        if clash is not None:
            yield (("gateways", index, "register", "user"),
                   f"account {clash!r} is {taken[clash]}'s already")
        taken.update(dict.fromkeys(gateway.accounts(), f"gateway {gateway.name!r}"))


def _port_problems(gateway: SiteGateway, loc: tuple, site: Any,
                   expand: Callable[[str], tuple[str, ...]],
                   served: dict[str, list[str | None]]) -> Iterator[Problem]:
    layout = dict(gateway.product().layout())
    taken: set[int] = set()
    seats = {seat for spec in site.agents for seat in spec.seat_ids()}
    for index, mapping in enumerate(gateway.ports):
        here = (*loc, "ports", index)
        try:
            numbers = mapping.numbers()
        except ValueError as error:
            yield ((*here, "ports"), str(error))
            continue
        if problem := _numbers_problem(numbers, layout, taken, gateway.profile):
            yield ((*here, "ports"), problem)
            continue
        taken.update(numbers)
        caps = layout[str(numbers[0])]
        if mapping.trunk_group is not None:
            yield from _trunk_problems(mapping, caps, site, here)
            served.setdefault(mapping.trunk_group, []).extend([mapping.line] * len(numbers))
        else:
            yield from _seat_problems(mapping, caps, numbers, seats, expand, here)


def _numbers_problem(numbers: list[int], layout: Mapping[str, Capabilities], taken: set[int],
                     profile: str) -> str | None:
    if any(str(n) not in layout for n in numbers):
        return f"profile {profile} has ports 1-{len(layout)}; got {numbers[0]}-{numbers[-1]}"
    if taken.intersection(numbers):
        return f"port {min(taken.intersection(numbers))} is mapped twice"
    if len({layout[str(n)].kind for n in numbers}) > 1:
        return "expected ports of one kind in one entry; split the range"
    return None


def _trunk_problems(mapping: PortMap, caps: Capabilities, site: Any,
                    here: tuple) -> Iterator[Problem]:
    groups = {group.name: group for group in site.trunk_groups}
    group = groups.get(mapping.trunk_group or "")
    if group is None:
        yield ((*here, "trunk_group"), f"no trunk group named {mapping.trunk_group!r} "
                                       f"(trunk groups: {', '.join(groups)})")
    elif caps.role is not Role.TRUNK or TRUNK_GROUP_KIND.get(caps.kind) != group.kind:
        yield ((*here, "trunk_group"), f"{caps.kind} ports cannot serve the {group.kind} "
                                       f"trunk group {group.name!r}")
    if mapping.line is not None and caps.has_called_number:
        yield ((*here, "line"), f"lines tell calls apart where there is no called number; "
                                f"{caps.kind} ports have one: leave line out")


def _seat_problems(mapping: PortMap, caps: Capabilities, numbers: list[int], seats: set[str],
                   expand: Callable[[str], tuple[str, ...]], here: tuple) -> Iterator[Problem]:
    if caps.role is not Role.STATION:
        yield ((*here, "seats"), f"{caps.kind} ports are trunks; seats need station ports")
        return
    try:
        ids = expand(mapping.seats or "")
    except ValueError as error:
        yield ((*here, "seats"), str(error))
        return
    if len(ids) != len(numbers):
        yield ((*here, "seats"), f"expected one seat per port ({len(numbers)}); got {len(ids)}")
    for seat in ids:
        if seat not in seats:
            yield ((*here, "seats"), f"no agent seat {seat!r} in agents")


def _channel_problems(site: Any, served: Mapping[str, list[str | None]]) -> Iterator[Problem]:
    for index, group in enumerate(site.trunk_groups):
        lines = served.get(group.name)
        if lines is not None and len(lines) != group.channels:
            yield (("trunk_groups", index, "channels"),
                   f"gateways give trunk group {group.name!r} {len(lines)} ports; "
                   f"expected channels: {len(lines)}, got {group.channels}")
    for index, route in enumerate(site.routes):
        lines = served.get(route.trunk_group)
        if route.line is not None and lines is not None and route.line not in lines:
            known = sorted({line for line in lines if line})
            yield (("routes", index, "line"),
                   f"no port of trunk group {route.trunk_group!r} carries line {route.line!r} "
                   f"(lines: {', '.join(known) or 'none named'})")
