# bash completion for flowdeck                                   -*- shell-script -*-
#
# The candidates come from flowdeck itself ('flowdeck __complete CWORD WORD...'): subcommands and
# options from the commands' own --help, state names from the state table, run ids and tags from the
# database (read-only, given up after a second). Its first line says whether file names fit too.

_flowdeck()
{
    local cur words cword
    if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
        # Keep "--db=URL" and "postgresql://host" in one word.
        _get_comp_words_by_ref -n =: cur words cword
    elif [[ -n ${COMP_LINE-} ]]; then
        # The words as typed up to the cursor, so that "--db=URL" and "postgresql://..." stay whole.
        local line=${COMP_LINE:0:COMP_POINT}
        read -ra words <<<"$line"
        if [[ ${#words[@]} -eq 0 || $line == *[[:space:]] ]]; then
            words+=("")
        fi
        cword=$((${#words[@]} - 1))
        cur=${words[cword]}
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    # In "--db=PATH" the part after '=' is the word bash replaces.
    local value=$cur
    [[ $cur == --*=* ]] && value=${cur#*=}

    local program=${words[0]:-flowdeck}
    command -v "$program" >/dev/null 2>&1 || program=flowdeck
    local -a lines
    local timeout=()
    command -v timeout >/dev/null 2>&1 && timeout=(timeout 3)
    mapfile -t lines < <("${timeout[@]}" "$program" __complete "$cword" "${words[@]}" 2>/dev/null)
    ((${#lines[@]} > 0)) || return 0

    local directive=${lines[0]}
    COMPREPLY=("${lines[@]:1}")
    case $directive in
    @files)
        compopt -o filenames 2>/dev/null
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$value")
        ;;
    @json)
        compopt -o filenames 2>/dev/null
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -X '!*.json' -- "$value")
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$value")
        ;;
    esac
    # bash replaces only what follows the word's last ':' (a word break): drop what precedes it.
    if [[ $value == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local kept=${value%"${value##*:}"} i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$kept"}
        done
    fi
    return 0
}
complete -F _flowdeck flowdeck
