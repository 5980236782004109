"""`mergegate completion bash|zsh|fish`: a completion script generated from the parser.

Subcommands and flags come from cli.build_parser(), so the scripts cannot drift
from the real command line. Gate names are not baked in: the scripts ask
`mergegate list --names` at completion time, which finds gates.yaml like any
command (or uses the -c FILE already typed on the line).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mergegate.results import EXIT_OK

# flags whose value is a gate name (or a comma list of them)
GATE_FLAGS = frozenset({"--only", "--skip", "--gate"})


@dataclass
class Command:
    name: str
    help: str
    flags: list[str] = field(default_factory=list)  # every option string
    takes_value: list[str] = field(default_factory=list)  # option strings followed by a value
    choices: list[str] = field(default_factory=list)  # positional words (shells, actions)
    gate_args: bool = False  # positionals are gate names
    file_args: bool = False  # positionals are paths (merge REPORT..., keygen DIR)


if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _subparsers(parser: argparse.ArgumentParser) -> Subparsers | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _describe(name: str, help_text: str, parser: argparse.ArgumentParser) -> Command:
    command = Command(name, help_text)
    for action in parser._actions:
        if action.option_strings:
            command.flags.extend(action.option_strings)
            if action.nargs != 0:
                command.takes_value.extend(action.option_strings)
        elif action.dest == "gates":
            command.gate_args = True
        elif action.choices and not isinstance(action, argparse._SubParsersAction):
            command.choices.extend(str(c) for c in action.choices)
        elif not isinstance(action, argparse._SubParsersAction):
            command.file_args = True
    nested = _subparsers(parser)
    if nested is not None:  # witness sign|verify|keygen: actions, and their flags merged
        command.choices.extend(nested.choices)
        for sub in nested.choices.values():
            inner = _describe(name, "", sub)
            command.flags.extend(f for f in inner.flags if f not in command.flags)
            command.takes_value.extend(f for f in inner.takes_value if f not in command.takes_value)
            command.file_args = command.file_args or inner.file_args
    return command


def commands() -> list[Command]:
    from mergegate.cli import build_parser

    top = _subparsers(build_parser())
    assert top is not None
    helps = {a.dest: a.help or "" for a in top._choices_actions}
    return [_describe(name, helps.get(name, ""), sub) for name, sub in top.choices.items()]


def _words(items: list[str]) -> str:
    return " ".join(items)


BASH_HEAD = """\
# mergegate completion for bash. Enable with:  eval "$(mergegate completion bash)"
_mergegate_gates() {
    local i config=()
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        case ${COMP_WORDS[i]} in -c|--config) config=(-c "${COMP_WORDS[i+1]}") ;; esac
    done
    command mergegate list --names "${config[@]}" 2>/dev/null
}
_mergegate() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac
    done
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "%(commands)s --help --version" -- "$cur"))
        return
    fi
    case $prev in
        --only|--skip|--gate) COMPREPLY=($(compgen -W "$(_mergegate_gates)" -- "$cur")); return ;;
    esac
    case $cmd in
"""

BASH_CASE = """\
        %(name)s)
            case $prev in %(values)s) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "%(flags)s" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "%(words)s" -- "$cur"))
            fi ;;
"""

BASH_TAIL = """\
    esac
}
complete -o default -F _mergegate mergegate
"""


def _bash_words(command: Command) -> str:
    words = _words(command.choices)
    return words + " $(_mergegate_gates)" if command.gate_args else words


def _cased(head: str, case: str, tail: str, words: Callable[[Command], str]) -> str:
    """A script of one ``case`` per subcommand between ``head`` and ``tail`` (bash, zsh)."""
    cmds = commands()
    parts = [head % {"commands": _words([c.name for c in cmds])}]
    for c in cmds:
        values = "|".join(v for v in c.takes_value if v not in GATE_FLAGS) or "--no-such-flag"
        parts.append(
            case % {"name": c.name, "values": values, "flags": _words(c.flags), "words": words(c)}
        )
    parts.append(tail)
    return "".join(parts)


def bash() -> str:
    return _cased(BASH_HEAD, BASH_CASE, BASH_TAIL, _bash_words)


ZSH_HEAD = """\
#compdef mergegate
# mergegate completion for zsh. Enable with:  eval "$(mergegate completion zsh)"
# (or save it as _mergegate in a directory on $fpath)
_mergegate_gates() {
    local i; local -a config
    for ((i = 2; i < CURRENT; i++)); do
        [[ ${words[i]} == (-c|--config) ]] && config=(-c "${words[i+1]}")
    done
    command mergegate list --names "${config[@]}" 2>/dev/null
}
_mergegate() {
    local cur=${words[CURRENT]} prev=${words[CURRENT-1]} cmd="" i
    for ((i = 2; i < CURRENT; i++)); do
        [[ ${words[i]} != -* ]] && { cmd=${words[i]}; break; }
    done
    if [[ -z $cmd ]]; then
        compadd -- %(commands)s --help --version
        return
    fi
    case $prev in
        --only|--skip|--gate) compadd -- ${(f)"$(_mergegate_gates)"}; return ;;
    esac
    case $cmd in
"""

ZSH_CASE = """\
        %(name)s)
            case $prev in %(values)s) _files; return ;; esac
            if [[ $cur == -* ]]; then
                compadd -- %(flags)s
            else
                %(words)s
            fi ;;
"""

ZSH_TAIL = """\
    esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _mergegate "$@"
else
    compdef _mergegate mergegate
fi
"""


def _zsh_words(command: Command) -> str:
    adds = []
    if command.choices:
        adds.append(f"compadd -- {_words(command.choices)}")
    if command.gate_args:
        adds.append('compadd -- ${(f)"$(_mergegate_gates)"}')
    return "; ".join(adds) or "_files"


def zsh() -> str:
    return _cased(ZSH_HEAD, ZSH_CASE, ZSH_TAIL, _zsh_words)


FISH_HEAD = """\
# mergegate completion for fish. Enable with:  mergegate completion fish | source
# (or save it as ~/.config/fish/completions/mergegate.fish)
function __mergegate_gates
    set -l config
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens))
        if contains -- $tokens[$i] -c --config; and test $i -lt (count $tokens)
            set config -c $tokens[(math $i + 1)]
        end
    end
    command mergegate list --names $config 2>/dev/null
end
complete -c mergegate -f
complete -c mergegate -n __fish_use_subcommand -l version -d 'print the version'
"""


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_flag(command: Command, flag: str) -> str:
    cond = f"__fish_seen_subcommand_from {command.name}"
    spec = f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}"
    line = f"complete -c mergegate -n {_fish_quote(cond)} {spec}"
    if flag in GATE_FLAGS:
        return line + " -x -a '(__mergegate_gates)'"
    return line + (" -r -F" if flag in command.takes_value else "")


def _fish_command(command: Command) -> list[str]:
    cond = _fish_quote(f"__fish_seen_subcommand_from {command.name}")
    lines = [
        f"complete -c mergegate -n __fish_use_subcommand -a {command.name} "
        f"-d {_fish_quote(command.help)}"
    ]
    lines.extend(_fish_flag(command, flag) for flag in command.flags)
    if command.choices:
        lines.append(f"complete -c mergegate -n {cond} -a {_fish_quote(_words(command.choices))}")
    if command.gate_args:
        lines.append(f"complete -c mergegate -n {cond} -a '(__mergegate_gates)'")
    if command.file_args:
        lines.append(f"complete -c mergegate -n {cond} -F")
    return lines


def fish() -> str:
    lines = [line for c in commands() for line in _fish_command(c)]
    return FISH_HEAD + "\n".join(lines) + "\n"


SHELLS = {"bash": bash, "zsh": zsh, "fish": fish}


def main(args: argparse.Namespace) -> int:
    sys.stdout.write(SHELLS[args.shell]())
    return EXIT_OK
