#!/bin/sh
# merge-env.sh: put the mastodon-media block, read from stdin, between the marker lines of a Mastodon env file.
#
#   merge-env.sh ENV_FILE < block
#
# It runs on the Mastodon host over SSH, where Node may be missing: POSIX sh and awk only, plus mktemp, cp, mv,
# cmp, tail, ls, date and rm. The block comes on stdin so the secrets in it never appear in argv or a process list.
#
# Contract with the caller (it restarts Mastodon only after "changed"):
#   stdout "unchanged"          the file already holds this block; it was not written at all
#   stdout "changed BACKUP"     the file was replaced; BACKUP holds the previous content
#   exit status other than 0    nothing was written; stderr says why, never quoting a value
#
# What it does to the file:
# - The lines between the markers are replaced by the block; every other line is kept byte for byte, CR included.
# - With no markers yet, the markers and block are appended at the end.
# - An active line outside the markers that sets a key the block also sets is commented out with a fixed prefix
#   (remove the prefix to undo). Mastodon's dotenv keeps the last occurrence of a key in a file and docker
#   compose's env_file reader does likewise, so a leftover S3 line after the block would silently win; with the
#   old lines commented out every reader sees one value.
# - Lines it writes use the file's own line ending (CRLF when its first line ends in CRLF).
# - A timestamped backup (ENV_FILE.mastodon-media-bak-YYYYmmddHHMMSS) is written first; the new content goes to a
#   temporary file in the same directory, gets the old file's owner and mode, and is renamed over the old file.
# - Each backup holds the keys the file had before, so only the newest KEEP_BACKUPS of this script's own backups
#   are kept (.mastodon-media-bak- then 14 digits, optionally -N: a name nobody types by habit, unlike the
#   common ".bak-$(date +%Y%m%d%H%M%S)"); other files, links and the operator's own backups are never removed.
#   Backups named ENV_FILE.bak-<stamp> by earlier versions of this script look exactly like an operator's own,
#   so they are left alone too.
set -u
umask 077

BEGIN_MARKER='# >>> mastodon-media (managed by Pulumi; edit the stack, not these lines)'
END_MARKER='# <<< mastodon-media'
SUPERSEDED_PREFIX='# [superseded by mastodon-media] '
KEEP_BACKUPS=3
BACKUP_INFIX=.mastodon-media-bak-

die() {
  printf 'merge-env: %s\n' "$*" >&2
  exit 1
}

[ "$#" -eq 1 ] || die "usage: merge-env.sh ENV_FILE < block"
env_file=$1

# Renaming over a symbolic link would replace the link, not the file it points to.
[ -L "$env_file" ] && die "$env_file is a symbolic link; give the path of the file it points to"
[ -e "$env_file" ] || die "$env_file does not exist (nothing was created; check the env file path)"
[ -f "$env_file" ] || die "$env_file is not a regular file"
[ -r "$env_file" ] && [ -w "$env_file" ] || die "$env_file is not readable and writable by $(id -un)"
case $env_file in
  */*) dir=${env_file%/*} && [ -n "$dir" ] || dir=/ ;;
  *) dir=. ;;
esac
[ -w "$dir" ] || die "cannot create files in $dir (the new file is written next to the old one, then renamed)"
# awk would take an operand like "a=b" for a variable assignment.
case $env_file in
  /* | ./* | ../*) awk_path=$env_file ;;
  *) awk_path=./$env_file ;;
esac

new=$(mktemp "$env_file.merge-XXXXXX") || die "cannot create a temporary file in $dir"
trap 'rm -f "$new"' EXIT
trap 'exit 1' HUP INT TERM
# Copying first gives the temporary file the old file's mode and (when run as root) owner; awk then overwrites
# only its content.
cp -p "$env_file" "$new" || die "cannot copy $env_file to a temporary file"

# A last line without a line ending keeps lacking one (tail's output loses a trailing newline in $(...)).
if [ -n "$(tail -c 1 "$env_file")" ]; then noeol=1; else noeol=0; fi

awk -v noeol="$noeol" -v begin_marker="$BEGIN_MARKER" -v end_marker="$END_MARKER" \
  -v superseded_prefix="$SUPERSEDED_PREFIX" '
function is_marker(s, prefix) { return s == prefix || index(s, prefix " ") == 1 }
function is_begin(s) { return is_marker(s, "# >>> mastodon-media") }
function is_end(s) { return is_marker(s, "# <<< mastodon-media") }
# The key a dotenv line sets ("KEY=v", "export KEY=v", "KEY: v"), or "" for comments and other lines.
function key_of(s,    t, k, rest) {
  t = s
  sub(/^[ \t]+/, "", t)
  if (t ~ /^export[ \t]/) sub(/^export[ \t]+/, "", t)
  if (!match(t, /^[A-Za-z0-9_.]+/)) return ""
  k = substr(t, 1, RLENGTH)
  rest = substr(t, RLENGTH + 1)
  if (rest ~ /^[ \t]*=/ || rest ~ /^:[ \t]/) return k
  return ""
}
function fail(msg) { if (err == "") err = msg; exit 2 }
# Lines are written with their terminator deferred, so the end can decide whether the last one gets one.
function out(s) {
  if (pending) printf "\n"
  printf "%s", s
  pending = 1
}
function emit_block(    i, cr) {
  cr = crlf ? "\r" : ""
  out(begin_marker cr)
  for (i = 1; i <= nblock; i++) out(block[i] cr)
  out(end_marker cr)
  last_verbatim = 0
}
phase == 1 {
  line = $0
  sub(/\r$/, "", line)
  if (is_begin(line) || is_end(line)) fail("the block on stdin contains a marker line")
  block[++nblock] = line
  k = key_of(line)
  if (k != "") { if (!(k in keys)) nkeys++; keys[k] = 1 }
  next
}
phase == 2 {
  if (FNR == 1 && $0 ~ /\r$/) crlf = 1
  bare = $0
  sub(/\r$/, "", bare)
  if (is_begin(bare)) {
    if (state != 0) fail("line " FNR ": a second begin marker; fix the file by hand")
    if (nkeys == 0) fail("the block on stdin sets no variable; refusing to empty the managed lines")
    state = 1
    emit_block()
    next
  }
  if (is_end(bare)) {
    if (state != 1) fail("line " FNR ": an end marker without a begin marker before it; fix the file by hand")
    state = 2
    next
  }
  if (state == 1) next
  k = key_of(bare)
  if (k != "" && (k in keys)) {
    out(superseded_prefix $0)
    last_verbatim = 0
    if (!(k in superseded)) superseded_list = superseded_list " " k
    superseded[k] = 1
    next
  }
  if (k ~ /^(S3|AWS)_/ && !(k in noted)) {
    noted[k] = 1
    printf "merge-env: note: line %d sets %s outside the managed block, and the block does not set it\n", FNR, k > "/dev/stderr"
  }
  out($0)
  last_verbatim = 1
}
END {
  if (err == "" && nkeys == 0) err = "the block on stdin sets no variable; refusing to write it"
  if (err == "" && state == 1) err = "a begin marker without an end marker; fix the file by hand"
  if (err != "") {
    printf "merge-env: %s\n", err > "/dev/stderr"
    exit 2
  }
  if (state == 0) {
    # Terminate an unterminated last line in the file style before appending.
    if (pending && noeol == 1) { printf "%s", (crlf ? "\r\n" : "\n"); pending = 0 }
    emit_block()
  }
  if (pending && !(last_verbatim && noeol == 1)) printf "\n"
  if (superseded_list != "")
    printf "merge-env: commented out lines outside the block that set:%s\n", superseded_list > "/dev/stderr"
}
' phase=1 - phase=2 "$awk_path" >"$new" || die "nothing was written to $env_file"

if cmp -s "$env_file" "$new"; then
  echo unchanged
  exit 0
fi

# ls -ln: mode string, owner id, group id; the 11th mode character (ACL or SELinux mark) is left out.
attrs() { ls -ln "$1" | awk '{ print substr($1, 1, 10), $3, $4 }'; }
[ "$(attrs "$env_file")" = "$(attrs "$new")" ] ||
  die "cannot give a new file the owner and mode of $env_file (run as its owner or root); nothing was written"

backup_prefix=$env_file$BACKUP_INFIX
stamp=$(date +%Y%m%d%H%M%S)
# Within one second the counter goes past the highest one there (not into a gap pruning left), so that name
# order stays age order.
n=0
for f in "$backup_prefix$stamp" "$backup_prefix$stamp"-*; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  case ${f#"$backup_prefix$stamp"} in
    "") k=1 ;;
    - | -*[!0-9]*) continue ;;
    *) k=${f#"$backup_prefix$stamp"-} ;;
  esac
  [ "$k" -gt "$n" ] && n=$k
done
if [ "$n" -eq 0 ]; then backup=$backup_prefix$stamp; else backup=$backup_prefix$stamp-$((n + 1)); fi
while [ -e "$backup" ] || [ -L "$backup" ]; do
  n=$((n + 1))
  backup=$backup_prefix$stamp-$((n + 1))
done
cp -p "$env_file" "$backup" || die "cannot write the backup $backup; nothing was written to $env_file"

mv -f "$new" "$env_file" || die "cannot rename the new file over $env_file; it is unchanged (backup: $backup)"

# Older backups of this script's own beyond the newest KEEP_BACKUPS go; the one just written always stays (even
# if the clock went back). Newest first by name: the 14-digit stamp, then the -N counter as a number. Only
# regular files named exactly like the ones it writes are candidates. A failure here is only noted: the merge
# itself is done.
for f in "$backup_prefix"*; do
  case $f in *"
"*) continue ;; esac # awk reads one name a line
  [ -f "$f" ] && [ ! -L "$f" ] && printf '%s\n' "$f"
done | awk -v prefix="$backup_prefix" -v current="$backup" -v keep="$KEEP_BACKUPS" '
index($0, prefix) == 1 {
  rest = substr($0, length(prefix) + 1)
  stamp = rest; n = 1
  if (index(rest, "-") > 0) { stamp = substr(rest, 1, index(rest, "-") - 1); n = substr(rest, index(rest, "-") + 1) }
  if (length(stamp) != 14 || stamp !~ /^[0-9]+$/ || n !~ /^[0-9]+$/) next
  count++; path[count] = $0; stamps[count] = stamp; num[count] = n + 0
  if ($0 == current) kept[count] = 1
}
function newer(a, b) { return stamps[a] > stamps[b] || (stamps[a] == stamps[b] && num[a] > num[b]) }
END {
  for (i = 1; i <= count; i++) if (kept[i]) nkept++
  while (nkept < keep) {
    best = 0
    for (i = 1; i <= count; i++) if (!kept[i] && (best == 0 || newer(i, best))) best = i
    if (best == 0) break
    kept[best] = 1; nkept++
  }
  for (i = 1; i <= count; i++) if (!kept[i]) print path[i]
}' | while IFS= read -r old; do
  rm -f "$old" || printf 'merge-env: note: could not remove the old backup %s\n' "$old" >&2
done

echo "changed $backup"
