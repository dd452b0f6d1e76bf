"""Reading a site configuration from YAML, with errors a field engineer can act on.

Every failure - unreadable file, YAML syntax, a wrong field, a dangling reference - comes out as
one `ConfigError` that names the file and lists each problem at its field path, e.g.
`queues[1] (support).strategy: expected one of 'ring_all', ...; got 'fifo'`.
"""

import difflib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .gateways import GATEWAYS_FOLDER
from .ivr import SITE_FOLDER
from .schema import DISTRIBUTION_KINDS, TEXT_CONTEXT, Site
from .values import FieldProblems, Loc

BUILTIN_SITES = ("small", "small-ivr", "medium", "digital")
_SITES_DIR = Path(__file__).resolve().parent.parent / "sites"


class ConfigError(Exception):
    """A site configuration that cannot be used. `source` is the file (or "<string>"),
    `problems` a list of (field path, message); str() gives a report of them all."""

    def __init__(
        self,
        source: str,
        problems: Sequence[tuple[str, str]],
        summary: str = "invalid site configuration",
    ) -> None:
        super().__init__(source, list(problems), summary)
        self.source = source
        self.problems = list(problems)
        self.summary = summary

    def __str__(self) -> str:
        count = len(self.problems)
        lines = [f"{self.source}: {self.summary} ({count} problem{'' if count == 1 else 's'})"]
        lines += [f"  {path}: {message}" if path else f"  {message}"
                  for path, message in self.problems]
        return "\n".join(lines)


# --- public entry points --------------------------------------------------------------------


def parse_site(text: str, source: str = "<string>", folder: Path | None = None) -> Site:
    """Validate a site from YAML text; `source` names it in errors. A site that `extends`
    another names a built-in site or a file relative to `folder` (default: the current one).
    Files a section names (a lookup's `seed`, a gateway's `profile`) are relative to the file
    that gives the section: `folder`, or the extended site's for a section taken from it."""
    here = folder if folder is not None else Path.cwd()
    data, origins = _extended(_load_yaml(text, source), source, here, ())
    # Lookups' seeds (and campaigns' lists) are read beside the ivr section's file, gateways'
    # profiles beside the gateways section's.
    context = {**TEXT_CONTEXT, SITE_FOLDER: origins.get("ivr", here),
               GATEWAYS_FOLDER: origins.get("gateways", here)}
    try:
        return Site.model_validate(data, context=context)
    except ValidationError as error:
        raise ConfigError(source, list(_problems(error, data))) from None


def load_site(path: str | os.PathLike[str]) -> Site:
    """The site in the file at `path`; files it names are relative to the file's folder."""
    source = os.fspath(path)
    return parse_site(_read_text(Path(path), source), source, Path(path).parent)


def builtin_site_path(name: str) -> Path:
    """The file of a built-in example site ("small", "medium", "digital")."""
    if name not in BUILTIN_SITES:
        raise ConfigError(name, [("", f"no built-in site named {name!r} "
                                      f"(built-in sites: {', '.join(BUILTIN_SITES)})")],
                          "unknown site")
    return _SITES_DIR / f"{name}.yaml"


def resolve_site(arg: str) -> Site:
    """Load `arg` as a file if one exists there, else as the name of a built-in site."""
    if Path(arg).is_file():
        return load_site(arg)
    if arg in BUILTIN_SITES:
        return load_site(builtin_site_path(arg))
    raise ConfigError(arg, [("", "no such file, and no built-in site of that name "
                                 f"(built-in sites: {', '.join(BUILTIN_SITES)})")],
                      "cannot find site configuration")


# --- files and YAML ---------------------------------------------------------------------------


def _read_text(path: Path, source: str) -> str:
    try:
        # utf-8-sig: files saved by Windows editors often start with a byte-order mark.
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        why = "no such file"
    except UnicodeDecodeError as error:
        why = f"not UTF-8 text ({error.reason} at byte {error.start})"
    except OSError as error:
        why = error.strerror or str(error)
    raise ConfigError(source, [("", why)], "cannot read site configuration")


class _SiteYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 scalars and no duplicate keys.

    YAML 1.1 reads `17:30` as the base-60 integer 1050, `0101` as octal 65 and `no` as false;
    in a site file those are a time, an extension and perhaps a name. Here they stay text
    (bool fields still accept yes/no: pydantic reads them). A key given twice in one mapping is
    an error, because PyYAML would silently keep the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"found the key {key_node.value!r} twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_12_scalars() -> None:
    tags = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"}
    _SiteYamlLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in tags]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    resolvers = {
        "bool": (r"true|True|TRUE|false|False|FALSE", "tTfF"),
        "int": (r"[-+]?(?:0|[1-9][0-9_]*)", "-+0123456789"),
        # a dot or an exponent is required, so that "0101" stays text
        "float": (r"[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)"
                  r"|\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?)"
                  r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
                  "-+0123456789."),
    }
    for name, (pattern, first) in resolvers.items():
        _SiteYamlLoader.add_implicit_resolver(
            f"tag:yaml.org,2002:{name}", re.compile(f"^(?:{pattern})$"), list(first))


_yaml_12_scalars()


def _load_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_SiteYamlLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        raise ConfigError(source, [_yaml_problem(error)], "cannot parse YAML") from None
    except yaml.YAMLError as error:
        raise ConfigError(source, [("", f"YAML error: {error}")], "cannot parse YAML") from None
    except (ValueError, RecursionError) as error:
        # A number of thousands of digits (int() refuses it) or brackets nested thousands
        # deep: no site file looks like that, but it must still be a ConfigError.
        raise ConfigError(source, [("", f"YAML error: {error}")], "cannot parse YAML") from None
    if data is None:
        raise ConfigError(source, [("", "the file is empty; expected a site configuration "
                                        "(site:, trunk_groups:, queues:, agents:, routes:)")])
    if not isinstance(data, dict):
        raise ConfigError(source, [("", "expected a mapping of settings at the top level "
                                        f"(site:, trunk_groups:, ...); got {_describe(data)}")])
    return data


def _extended(data: dict[str, Any], source: str, folder: Path,
              seen: tuple[Path, ...]) -> tuple[dict[str, Any], dict[str, Path]]:
    """`data` on top of the site it `extends`: each top-level section this file gives
    replaces the base's whole (lists and mappings are not merged), the others are the base's.
    The base may extend another in turn. Also the folder of the file each section came from."""
    own = {key: value for key, value in data.items() if key != "extends"}
    origins = dict.fromkeys(own, folder)
    if "extends" not in data:
        return own, origins
    path = _base_path(data["extends"], source, folder)
    if path in seen:
        chain = " -> ".join(str(step) for step in (*seen, path))
        raise ConfigError(source, [("extends", f"sites extend each other in a circle: {chain}")])
    base, base_origins = _extended(_load_yaml(_read_text(path, str(path)), str(path)),
                                   str(path), path.parent, (*seen, path))
    return {**base, **own}, {**base_origins, **origins}


def _base_path(name: object, source: str, folder: Path) -> Path:
    if isinstance(name, str) and name:
        if (folder / name).is_file():
            return (folder / name).resolve()
        if name in BUILTIN_SITES:
            return builtin_site_path(name).resolve()
    raise ConfigError(source, [("extends", "expected a site file (relative to this one) or a "
                                           f"built-in site ({', '.join(BUILTIN_SITES)}); "
                                           f"got {_describe(name)}")])


def _yaml_problem(error: yaml.MarkedYAMLError) -> tuple[str, str]:
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    message = f"YAML syntax error: {error.problem or error.context}"
    if error.context and error.problem and error.context_mark:
        message += f" ({error.context} at line {error.context_mark.line + 1})"
    return where, message


# --- validation errors -> problems ----------------------------------------------------------


def _problems(error: ValidationError, data: Any) -> Iterator[tuple[str, str]]:
    for detail in error.errors():
        nested = detail.get("ctx", {}).get("error")
        if detail["type"] == "value_error" and isinstance(nested, FieldProblems):
            for loc, message in nested.problems:
                yield _path((*detail["loc"], *loc), data), message
        else:
            loc, message = _explain(detail)
            yield _path(loc, data), message


def _path(loc: Loc, data: Any) -> str:
    """Field path in the file's terms; list items show their name or id."""
    text = ""
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("dist") == part:
            continue  # pydantic adds the distribution's tag, which is no field of the file
        if isinstance(part, int) and isinstance(node, list):
            node = node[part] if 0 <= part < len(node) else None
            text += f"[{part}]" + _label(node)
            continue
        text += f".{part}" if text else str(part)
        node = node.get(part) if isinstance(node, dict) else None
    return text


def _label(node: Any) -> str:
    if not isinstance(node, dict):
        return ""
    for key in ("id", "name"):  # an agent entry has both; its id says more
        value = node.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return f" ({_shorten(str(value))})"
    return ""


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return _shorten(repr(value))


def _expected_list(text: str) -> str:
    # pydantic writes "'a', 'b' or 'c'"
    head, _, last = text.rpartition(" or ")
    return f"{head}, {last}" if head else last


_SIMPLE = {
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected a mapping (key: value entries)",
    "mapping_type": "expected a mapping (key: value entries)",
    "model_type": "expected a mapping of fields",
    "model_attributes_type": "expected a mapping of fields",
}

_BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="),
           "less_than": ("lt", "<"), "less_than_equal": ("le", "<=")}


def _explain(detail: ErrorDetails) -> tuple[Loc, str]:
    """(location, message) for one pydantic error, saying what was expected and what came."""
    kind, loc, ctx = detail["type"], tuple(detail["loc"]), detail.get("ctx", {})
    got = f"; got {_describe(detail['input'])}"
    if kind == "missing":
        return loc, "required field is missing"
    if kind == "extra_forbidden":
        return loc, _unknown_field(loc)
    if kind == "literal_error":
        return loc, f"expected one of {_expected_list(ctx['expected'])}{got}"
    if kind == "union_tag_invalid":
        return (*loc, "dist"), f"expected one of {_kinds()}; got {ctx['tag']!r}"
    if kind == "union_tag_not_found":
        return (*loc, "dist"), f"required field is missing (one of {_kinds()})"
    if kind in _BOUNDS:
        key, sign = _BOUNDS[kind]
        return loc, f"expected a number {sign} {ctx[key]}{got}"
    if kind in ("too_short", "too_long"):
        bound = "at least" if kind == "too_short" else "at most"
        length = ctx.get("min_length", ctx.get("max_length"))
        return loc, f"expected {bound} {length} item(s); got {ctx.get('actual_length')}"
    if kind == "string_too_short":
        return loc, f"expected non-empty text{got}"
    if kind == "value_error":
        return loc, str(ctx.get("error", detail["msg"]))
    if kind in _SIMPLE:
        return loc, _SIMPLE[kind] + got
    return loc, detail["msg"] + got


def _kinds() -> str:
    return ", ".join(repr(kind) for kind in DISTRIBUTION_KINDS)


def _unknown_field(loc: Loc) -> str:
    allowed = _fields_at(loc[:-1])
    message = f"unknown field {loc[-1]!r}"
    if not allowed:
        return message
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    hint = f" - did you mean {close[0]!r}?" if close else ""
    return f"{message}{hint} (expected one of: {', '.join(allowed)})"


def _fields_at(loc: Loc) -> list[str]:
    """Field names of the model found at `loc` from `Site`, following the type annotations."""
    candidates: list[Any] = [Site]
    for part in loc:
        candidates = [child for tp in candidates for child in _children(tp, part)]
    models = [tp for tp in candidates if isinstance(tp, type) and issubclass(tp, BaseModel)]
    return list(models[0].model_fields) if len(models) == 1 else []


def _children(tp: Any, part: str | int) -> list[Any]:
    found: list[Any] = []
    for option in _options(tp):
        if isinstance(option, type) and issubclass(option, BaseModel):
            field = option.model_fields.get(str(part))
            if field is not None:
                found += _options(field.annotation)
            elif option.model_fields.get("dist") is not None and \
                    option.model_fields["dist"].default == part:
                found.append(option)
        elif get_origin(option) in (list, tuple) and isinstance(part, int):
            found += _options(get_args(option)[0])
    return found


def _options(tp: Any) -> list[Any]:
    """The concrete types an annotation allows: Annotated and unions unwrapped."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _options(get_args(tp)[0])
    if origin in (Union, UnionType):
        return [option for arg in get_args(tp) for option in _options(arg)]
    return [tp]
