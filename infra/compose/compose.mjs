// `npm run compose -- <docker-compose arguments>`: docker-compose on this machine's container engine
// (Podman's API service, started if needed) with the locally built images of `npm run images`, i.e.
// distributed-test.yml plus local-images.yml. Project name: COMPOSE_PROJECT_NAME, default `els`.
// With Docker and an image registry, use `docker compose -f infra/compose/distributed-test.yml` instead.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { engineEnv, engineUp } from '../images/container-engine.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The docker-compose arguments selecting the local world: both files and the project name. */
export function localComposeArgs(projectName = process.env.COMPOSE_PROJECT_NAME ?? 'els') {
  return [
    '-p',
    projectName,
    '-f',
    path.join(here, 'distributed-test.yml'),
    '-f',
    path.join(here, 'local-images.yml'),
  ];
}

async function main() {
  await engineUp();
  const child = spawn('docker-compose', [...localComposeArgs(), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, ...engineEnv },
  });
  child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`[compose] ${error.message}`);
    process.exit(1);
  });
}
