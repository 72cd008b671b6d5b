#!/bin/bash
# Renders /etc/nginx/templates/*.template into NGINX_ENVSUBST_OUTPUT_DIR (default /etc/nginx/conf.d),
# substituting only variables that are set (nginx's own $variables stay), then runs the command.
set -euo pipefail

# The first nameserver only: Podman lists its own DNS (which knows the containers) and then the host's
# resolvers, and nginx sends queries to every resolver it is given in turn, so a container name would
# resolve "not found" every other time.
if [[ -n "${NGINX_ENTRYPOINT_LOCAL_RESOLVERS:-}" ]]; then
  NGINX_LOCAL_RESOLVERS="$(awk '$1 == "nameserver" { a = $2; if (a ~ /:/) a = "[" a "]"; print a; exit }' /etc/resolv.conf)"
  export NGINX_LOCAL_RESOLVERS
fi

template_dir=/etc/nginx/templates
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
if [[ -d "$template_dir" ]]; then
  defined="$(env | cut -d= -f1 | sed 's/^/${/; s/$/}/' | tr '\n' ' ')"
  while IFS= read -r template; do
    relative="${template#"$template_dir"/}"
    target="$output_dir/${relative%.template}"
    mkdir -p "$(dirname "$target")"
    envsubst "$defined" < "$template" > "$target"
    echo "[entrypoint] rendered $template to $target"
  done < <(find "$template_dir" -follow -type f -name '*.template')
fi

exec "$@"
