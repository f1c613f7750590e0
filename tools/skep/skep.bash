# bash completion for skep(8). The words come from the command itself
# (`skep help --complete WORDS...`, generated from tools/skep/help.def), so this file
# never goes stale; files complete everywhere.
_skep()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local words
	words=$("${COMP_WORDS[0]}" help --complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null | sort -u)
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
	if [ "$COMP_CWORD" -gt 1 ]; then
		local IFS=$'\n'
		COMPREPLY+=($(compgen -f -- "$cur"))
	fi
}
complete -o filenames -F _skep skep
