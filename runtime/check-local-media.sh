#!/bin/sh
# check-local-media.sh: before Mastodon is switched to the bucket, prove that the media it still has on local disk
# is already served by the media host, so that the switch loses no avatar, emoji or attachment.
#
#   check-local-media.sh MEDIA_DIR BASE_URL BUCKET ENDPOINT
#
# MEDIA_DIR is Mastodon's public/system; BASE_URL is https://<media host>. Mastodon's object keys are the paths
# under public/system (Paperclip's :class/:attachment/:id_partition/:style/:filename), so a file MEDIA_DIR/<key>
# must be served at BASE_URL/<key> once copied. BUCKET and ENDPOINT only go into the copy command it prints.
#
# It runs on the Mastodon host over SSH, where Node may be missing: POSIX sh, find and awk, plus curl or GNU
# wget (curl preferred), which verify the media host's certificate. It reads nothing from stdin (the caller's stdin carries the env block) and sends no secret.
#
# What it checks: a random sample of SAMPLE_SIZE files, drawn evenly from the files under MEDIA_DIR whose path
# starts with one of PUBLIC_PREFIXES (reservoir sampling, so a tree of millions of files is listed once and never
# held in memory). Only those prefixes are served through the media host (the bucket policy and the edge refuse
# everything else), so anything else (users' archives under backups/, imports/, a stray file) would fail for
# nothing. Also left out: hidden files; names with characters Mastodon does not put in keys (they would need
# URL-encoding). Each sampled file gets a HEAD request (two tries, 15 s each); anything but a 2xx answer counts
# as missing. A sample catches a copy that was never made, went to the wrong bucket or prefix, or stopped
# half-way; it cannot prove that every single file arrived, which is why the runbook syncs once more after the
# switch.
#
# It prints counts per prefix, never a file's name: Mastodon's random file names are all that protects
# followers-only and direct-message attachments, and a deploy log is often public.
#
#   exit 0   nothing to check (no such directory, or no public files in it), or every sampled file is served
#   exit 1   a sampled file is not served, or the check cannot run; stderr says which and how to copy
set -u
umask 077

SAMPLE_SIZE=20
# Mastodon's public media key prefixes: components/media-paths.ts PUBLIC_MEDIA_PREFIXES, in the same order (a test
# keeps the two equal). Space-separated; no prefix contains a space.
PUBLIC_PREFIXES="accounts/avatars/ accounts/headers/ media_attachments/files/ media_attachments/thumbnails/ custom_emojis/images/ preview_cards/images/ site_uploads/files/ preview_card_providers/icons/ cache/accounts/avatars/ cache/accounts/headers/ cache/media_attachments/files/ cache/media_attachments/thumbnails/ cache/custom_emojis/images/ cache/preview_cards/images/"

[ "$#" -eq 4 ] || {
  echo "usage: check-local-media.sh MEDIA_DIR BASE_URL BUCKET ENDPOINT" >&2
  exit 2
}
dir=$1
base=${2%/}
bucket=$3
endpoint=$4

say() { printf 'mastodon-media: %s\n' "$*"; }
die() {
  printf 'mastodon-media: %s\n' "$*" >&2
  exit 1
}
skip_hint="if this directory is not where this instance keeps its media, set mastodonHost.localMediaDir to the right path (or to false once the media is copied)"

if [ ! -e "$dir" ] && [ ! -L "$dir" ]; then
  say "local media: $dir does not exist; nothing to copy before the switch"
  exit 0
fi
[ -d "$dir" ] || die "local media: $dir is not a directory; $skip_hint"
[ -r "$dir" ] && [ -x "$dir" ] || die "local media: $(id -un) cannot read $dir; give it read access, or $skip_hint"

# BusyBox's wget cannot verify certificates (Debian's refuses every one unless told not to check): not used.
if command -v curl >/dev/null 2>&1; then
  fetch=curl
elif command -v wget >/dev/null 2>&1 && wget --version 2>/dev/null | grep -q 'GNU Wget'; then
  fetch=wget
  # GNU wget would retry 20 times; timeout(1), where there is one, bounds the whole request too.
  if command -v timeout >/dev/null 2>&1; then wget_bound="timeout 40"; else wget_bound=; fi
else
  die "local media: neither curl nor GNU wget is installed on this server (BusyBox's wget cannot verify TLS" \
    "certificates), so the media under $dir cannot be checked against $base before the switch. Install curl, or" \
    "copy the media yourself (README: Moving existing local media into the bucket) and then set" \
    "mastodonHost.localMediaDir to false."
fi

work=$(mktemp -d) || die "local media: cannot create a temporary directory"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

# find's status travels through a file: a plain pipe would lose it, and part of a tree proves less than it seems.
{
  (cd "$dir" && find . -type f) 2>"$work/find-errors"
  echo $? >"$work/find-status"
} | LC_ALL=C awk -v k="$SAMPLE_SIZE" -v prefixes="$PUBLIC_PREFIXES" '
BEGIN { srand(); np = split(prefixes, prefix, " ") }
{
  p = substr($0, 3)
  if (p !~ "^[-A-Za-z0-9._/]+$" || p ~ "(^|/)[.]") next
  under = ""
  for (i = 1; i <= np; i++)
    if (index(p, prefix[i]) == 1 && length(p) > length(prefix[i])) { under = prefix[i]; break }
  if (under == "") next
  n++
  if (n <= k) pick[n] = under " " p
  else { j = int(rand() * n) + 1; if (j <= k) pick[j] = under " " p }
}
END {
  print n + 0
  for (i = 1; i <= n && i <= k; i++) print pick[i]
}' >"$work/sample" || die "local media: awk failed while sampling the files under $dir"

if [ "$(cat "$work/find-status")" != 0 ]; then
  die "local media: cannot list all of $dir: $(head -n 3 "$work/find-errors" | tr '\n' ' '); give $(id -un) read" \
    "access to it, or $skip_hint"
fi
total=$(head -n 1 "$work/sample")
# A count that is not a number would make every test below false and the check pass without checking.
case $total in '' | *[!0-9]*) die "local media: sampling the files under $dir gave no count" ;; esac
if [ "$total" -eq 0 ]; then
  say "local media: no public media files under $dir; nothing to copy before the switch"
  exit 0
fi

# Prints "ok" or why the file is not served.
probe() {
  if [ "$fetch" = curl ]; then
    code=$(curl -sS -o /dev/null -I -w '%{http_code}' --connect-timeout 10 --max-time 15 --retry 1 \
      --retry-delay 1 --proto =https "$1" </dev/null 2>"$work/fetch-errors") || true
    case $code in
      2??) echo ok ;;
      000 | "") echo "no answer: $(head -n 1 "$work/fetch-errors")" ;;
      *) echo "HTTP $code" ;;
    esac
  else
    # shellcheck disable=SC2086 # wget_bound is empty or a command and its argument
    if $wget_bound wget -S --spider -T 15 --tries=2 "$1" </dev/null >/dev/null 2>"$work/fetch-errors"; then
      echo ok
    else
      # The last HTTP status line, or else the first line that says what failed.
      awk '
        match($0, /HTTP\/[0-9.]+ [0-9][0-9][0-9]/) { status = substr($0, RSTART, RLENGTH) }
        why == "" && /ERROR|[Ee]rror|[Ff]ailed|[Uu]nable|certificate/ { why = $0 }
        END { if (status != "") print status; else print "no answer: " why }' "$work/fetch-errors"
    fi
  fi
}

checked=0
missing=0
tail -n +2 "$work/sample" >"$work/keys"
: >"$work/misses"
while IFS=' ' read -r prefix key; do
  checked=$((checked + 1))
  result=$(probe "$base/$key")
  if [ "$result" != ok ]; then
    missing=$((missing + 1))
    # The prefix and why, never the key: an error line that quotes the URL loses the key first.
    printf '%s %s\n' "$prefix" "$result" | LC_ALL=C awk -v key="$key" '{
      while ((i = index($0, key)) > 0) $0 = substr($0, 1, i - 1) "<file>" substr($0, i + length(key))
      print
    }' >>"$work/misses"
  fi
done <"$work/keys"

if [ "$missing" -eq 0 ]; then
  say "local media: all $checked sampled files of the $total under $dir are served at $base/"
  exit 0
fi
{
  say "local media: $missing of $checked sampled files (of $total under $dir) are not served at $base/;" \
    "not served, by prefix (file names are never printed):"
  # One line per prefix, in the order first seen: the count and the first reason given for it.
  LC_ALL=C awk '{
    p = $1; why = substr($0, length(p) + 2)
    if (!(p in n)) { order[++k] = p; first[p] = why }
    n[p]++
  }
  END { for (i = 1; i <= k; i++) printf "  %s: %d (%s)\n", order[i], n[order[i]], first[order[i]] }' "$work/misses"
  echo "Mastodon still serves its media from $dir: switching it to the bucket now would break those files,"
  echo "so nothing was changed on this server (env file untouched, no restart). Copy the media into the bucket"
  echo "first, then run pulumi up again:"
  echo "  aws s3 sync '$dir/' 's3://$bucket/' --endpoint-url 'https://$endpoint'"
  echo "  (or: rclone copy '$dir/' 'e2:$bucket' with an rclone remote e2 for that endpoint)"
  echo "(README: Moving existing local media into the bucket.) If $dir is not where this instance keeps its"
  echo "media, set mastodonHost.localMediaDir to the right path, or to false."
} >&2
exit 1
