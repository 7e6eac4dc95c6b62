// The deployment an operator copies (README, "Deployment"): the Dockerfile and the Kubernetes
// example in deploy/kubernetes/. No Docker engine runs where the suite runs, and hadolint is in
// neither Debian nor npm (npm's dockerfilelint 1.8 refuses the valid `HEALTHCHECK
// --start-period`), so the Dockerfile is parsed with dockerfile-ast and checked structurally
// here, and built and run only where `docker info` answers. Every manifest is parsed with the yaml package and checked
// against the gateway it deploys: probe paths, ports, the schemas mount, the QUILT_* names
// (each must be a real flag's variable, read from src/cli/options.ts), and the example schema
// files compose as `quilt check` would.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { envName, FLAGS } from '../../src/cli/options.js';
import { compileSchema } from '../../src/compose/compile-schema.js';
import { loadSchemaFolder } from '../../src/config/load-folder.js';
import { SHUTDOWN_GRACE_MS } from '../../src/server/gateway.js';
import { UpstreamRegistry } from '../../src/upstream/registry.js';
import { parseDockerfile, stagesOf } from './dockerfile.js';

const ROOT = join(import.meta.dirname, '..', '..');
const K8S = join(ROOT, 'deploy', 'kubernetes');

/** Every QUILT_* variable `quilt serve` reads: each flag's, and QUILT_NO_X for switches. */
const KNOWN_VARIABLES = new Set(
  FLAGS.flatMap((f) => [envName(f.name), ...(f.type === 'boolean' ? [`QUILT_NO_${envName(f.name).slice(6)}`] : [])]),
);

describe('Dockerfile (structural lint)', () => {
  const instructions = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const stages = stagesOf(instructions);
  const final = stages.at(-1)!;
  const finalEnv = Object.fromEntries(
    final.instructions
      .filter((i) => i.keyword === 'ENV')
      .flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])),
  );

  test('multi-stage, every base image pinned to Node 20 (never latest, never untagged)', () => {
    assert.ok(stages.length >= 2, 'at least a dependency stage and a runtime stage');
    for (const s of stages) {
      assert.match(s.image, /^[\w./-]+:[\w.-]+$/, `${s.image}: a tag`);
      assert.doesNotMatch(s.image, /:latest$/, `${s.image}: not latest`);
      if (s.image.startsWith('node:')) assert.match(s.image, /^node:20[.-]/, `${s.image}: Node 20`);
    }
  });

  test('the runtime gets its node_modules from a stage that ran npm ci --omit=dev', () => {
    const deps = stages.find((s) =>
      s.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args)),
    );
    assert.ok(deps, 'a stage runs npm ci --omit=dev');
    assert.notEqual(deps, final, 'and it is not the runtime stage itself');
    const copy = final.instructions.find((i) => i.keyword === 'COPY' && i.args.includes(`--from=${deps.name}`));
    assert.ok(copy && /node_modules/.test(copy.args), `the runtime copies node_modules from ${deps.name}`);
    assert.ok(!final.instructions.some((i) => i.keyword === 'RUN' && /npm (ci|install)/.test(i.args)));
  });

  test('a non-root USER before the ENTRYPOINT, which runs `quilt serve`', () => {
    const users = final.instructions.filter((i) => i.keyword === 'USER');
    assert.ok(users.length > 0, 'USER in the runtime stage');
    assert.ok(!users.some((u) => /^(root|0)(:|$)/.test(u.args)), 'never root');
    const entry = final.instructions.findIndex((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD');
    assert.ok(entry > final.instructions.indexOf(users.at(-1)!), 'USER comes before ENTRYPOINT/CMD');
    const entrypoint = final.instructions.find((i) => i.keyword === 'ENTRYPOINT');
    assert.deepEqual(JSON.parse(entrypoint!.args), ['node', 'bin/quilt.js', 'serve']);
  });

  test('HEALTHCHECK asks /healthz on the port it EXPOSEs, with a tool the image has (node)', () => {
    const check = final.instructions.find((i) => i.keyword === 'HEALTHCHECK');
    assert.ok(check, 'HEALTHCHECK in the runtime stage');
    assert.match(check.args, /\/healthz/);
    assert.match(check.args, /CMD \["node",/, 'node, not curl (the slim image has none)');
    assert.equal(final.instructions.find((i) => i.keyword === 'EXPOSE')?.args, finalEnv.QUILT_PORT);
  });

  test('the schemas folder is a VOLUME and the folder QUILT_SCHEMAS names', () => {
    const volume = final.instructions.find((i) => i.keyword === 'VOLUME');
    assert.ok(volume, 'VOLUME in the runtime stage');
    assert.deepEqual(JSON.parse(volume.args), [finalEnv.QUILT_SCHEMAS]);
    for (const name of Object.keys(finalEnv).filter((n) => n.startsWith('QUILT_')))
      assert.ok(KNOWN_VARIABLES.has(name), `${name} is a flag's variable`);
  });

  test('what it copies exists and is not excluded by .dockerignore; the build lands where bin/quilt.js looks', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const s of stages)
      for (const i of s.instructions.filter((x) => x.keyword === 'COPY' && !x.args.includes('--from='))) {
        const sources = i.args.split(/\s+/).slice(0, -1);
        for (const src of sources) {
          assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: exists`);
          assert.ok(!ignored.includes(src), `COPY ${src}: not in .dockerignore`);
        }
      }
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8'));
    const base = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8'));
    assert.deepEqual(build.include, ['src']);
    assert.equal(build.compilerOptions?.outDir ?? base.compilerOptions.outDir, 'dist');
    assert.equal(build.compilerOptions?.rootDir ?? base.compilerOptions.rootDir, '.');
    assert.match(readFileSync(join(ROOT, 'bin', 'quilt.js'), 'utf8'), /'\.\.\/dist\/src\/cli\/main\.js'/);
  });

  test('npm ci --omit=dev is enough: every package src/ loads at run time is a dependency', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const runtime = new Set(Object.keys(pkg.dependencies));
    const missing = new Set<string>();
    for (const file of tsFiles(join(ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8');
      const specifiers = [
        ...[...text.matchAll(/^import (?!type )[^;]*?from '([^']+)'/gms)].map((m) => m[1]),
        ...[...text.matchAll(/^export [^;]*?from '([^']+)'/gms)].map((m) => m[1]),
        ...[...text.matchAll(/\bimport\('([^'.][^']*)'\)/g)].map((m) => m[1]),
        // require('x'), requireHere.resolve('x'), createRequire(import.meta.url)('x'); a package
        // required from another package's folder is that package's own dependency.
        ...[...text.matchAll(/\brequire\w*(?:\.resolve)?\('([^'.][^']*)'\)/g)].map((m) => m[1]),
        ...[...text.matchAll(/createRequire\(import\.meta\.url\)(?:\.resolve)?\('([^'.][^']*)'\)/g)].map((m) => m[1]),
      ];
      for (const s of specifiers) {
        if (s.startsWith('.') || s.startsWith('node:')) continue;
        const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0];
        if (!runtime.has(name)) missing.add(`${name} (${file.slice(ROOT.length + 1)})`);
      }
    }
    assert.deepEqual([...missing], []);
  });

  test('docker build and run, where a Docker engine answers', (t) => {
    if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) {
      t.skip('no Docker engine here (the client may exist; `docker info` fails)');
      return;
    }
    const tag = `quilt-test:${process.pid}`;
    execFileSync('docker', ['build', '-t', tag, ROOT], { stdio: 'inherit', timeout: 600_000 });
    try {
      const out = execFileSync('docker', ['run', '--rm', '--entrypoint', 'id', tag], { encoding: 'utf8' });
      assert.match(out, /uid=1000\(node\)/);
    } finally {
      spawnSync('docker', ['rmi', tag], { stdio: 'ignore' });
    }
  });
});

interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: any;
}

function loadManifests(): { manifests: Manifest[]; texts: Map<string, string> } {
  const manifests: Manifest[] = [];
  const texts = new Map<string, string>();
  for (const file of readdirSync(K8S).filter((f) => f.endsWith('.yaml'))) {
    const text = readFileSync(join(K8S, file), 'utf8');
    texts.set(file, text);
    for (const doc of parseAllDocuments(text)) {
      assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
      const value = doc.toJS();
      if (value) manifests.push({ file, ...value });
    }
  }
  return { manifests, texts };
}

describe('deploy/kubernetes', () => {
  const { manifests, texts } = loadManifests();
  const find = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata?.name === name);
  const quilt = find('Deployment', 'quilt')!;
  const pod = quilt?.spec.template.spec;
  const container = pod?.containers.find((c: { name: string }) => c.name === 'quilt');
  const env = Object.fromEntries((container?.env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]));

  test('every file parses; the kinds an operator needs are there; kustomization lists every file', () => {
    for (const m of manifests.filter((x) => x.kind !== 'Kustomization')) {
      assert.ok(m.apiVersion && m.kind && m.metadata?.name, `${m.file}: apiVersion, kind, metadata.name`);
    }
    for (const [kind, name] of [
      ['Deployment', 'quilt'],
      ['Service', 'quilt'],
      ['ConfigMap', 'quilt-schemas'],
      ['ConfigMap', 'quilt-config'],
      ['Secret', 'quilt-secrets'],
      ['PodDisruptionBudget', 'quilt'],
      ['Deployment', 'quilt-redis'],
      ['Service', 'quilt-redis'],
    ])
      assert.ok(find(kind, name), `${kind}/${name}`);
    const kustomization = manifests.find((m) => m.kind === 'Kustomization')!;
    const files = [...texts.keys()].filter((f) => f !== 'kustomization.yaml').sort();
    assert.deepEqual([...kustomization.resources].sort(), files);
  });

  test('readiness on /readyz, liveness on /healthz, on the port the gateway listens on', () => {
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    const port = container.ports.find((p: { containerPort: number }) => String(p.containerPort) === env.QUILT_PORT);
    assert.ok(port, `a container port equal to QUILT_PORT (${env.QUILT_PORT})`);
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe])
      assert.ok([port.name, port.containerPort].includes(probe.httpGet.port), `probe port ${probe.httpGet.port}`);
  });

  test('the Service and the PodDisruptionBudget select the gateway pods and reach their port', () => {
    const labels = quilt.spec.template.metadata.labels;
    for (const m of [find('Service', 'quilt')!, find('PodDisruptionBudget', 'quilt')!]) {
      const selector = m.spec.selector.matchLabels ?? m.spec.selector;
      for (const [k, v] of Object.entries(selector)) assert.equal(labels[k], v, `${m.kind} selector ${k}`);
    }
    const targets = container.ports.flatMap((p: { name: string; containerPort: number }) => [p.name, p.containerPort]);
    for (const p of find('Service', 'quilt')!.spec.ports) assert.ok(targets.includes(p.targetPort), `${p.targetPort}`);
    const redis = find('Deployment', 'quilt-redis')!.spec.template;
    const redisService = find('Service', 'quilt-redis')!;
    for (const [k, v] of Object.entries(redisService.spec.selector)) assert.equal(redis.metadata.labels[k], v);
    const url = new URL(find('Secret', 'quilt-secrets')!.stringData.QUILT_REDIS_URL);
    assert.equal(url.hostname, redisService.metadata.name);
    assert.equal(Number(url.port), redisService.spec.ports[0].port);
  });

  test('the schemas ConfigMap is mounted whole at QUILT_SCHEMAS (the Dockerfile VOLUME), and it composes', async () => {
    const mount = container.volumeMounts.find((v: { mountPath: string }) => v.mountPath === env.QUILT_SCHEMAS);
    assert.ok(mount, `a volume mounted at QUILT_SCHEMAS (${env.QUILT_SCHEMAS})`);
    assert.equal(mount.subPath, undefined, 'no subPath: the kubelet never updates one');
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    const configMap = find('ConfigMap', volume.configMap?.name);
    assert.ok(configMap, 'a ConfigMap volume naming a ConfigMap of this folder');
    const dockerVolume = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).find(
      (i) => i.keyword === 'VOLUME',
    );
    assert.deepEqual(JSON.parse(dockerVolume!.args), [env.QUILT_SCHEMAS]);
    const dir = mkdtempSync(join(tmpdir(), 'quilt-k8s-schemas-'));
    const registry = new UpstreamRegistry();
    try {
      for (const [name, text] of Object.entries(configMap.data as Record<string, string>))
        writeFileSync(join(dir, name), text);
      const folder = await loadSchemaFolder(dir, {});
      assert.deepEqual(folder.problems, []);
      const compiled = await compileSchema(folder, registry);
      assert.ok(compiled.sources.length > 0);
    } finally {
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every QUILT_* name written anywhere (comments too) is a real flag variable; envFrom sources exist', () => {
    for (const [file, text] of texts)
      for (const [name] of text.matchAll(/\bQUILT_[A-Z0-9_]+/g))
        assert.ok(KNOWN_VARIABLES.has(name), `${file}: ${name} is not a variable quilt serve reads`);
    for (const from of container.envFrom) {
      const ref = from.configMapRef ?? from.secretRef;
      const source = find(from.configMapRef ? 'ConfigMap' : 'Secret', ref.name);
      assert.ok(source, `envFrom ${ref.name}`);
      for (const key of Object.keys(source.data ?? source.stringData ?? {})) assert.match(key, /^QUILT_/);
    }
  });

  test('non-root, read-only root filesystem, no privilege escalation; images pinned', () => {
    for (const d of manifests.filter((m) => m.kind === 'Deployment')) {
      const spec = d.spec.template.spec;
      for (const c of spec.containers) {
        const ctx = { ...spec.securityContext, ...c.securityContext };
        assert.equal(ctx.runAsNonRoot, true, `${d.metadata.name}/${c.name}: runAsNonRoot`);
        assert.equal(ctx.readOnlyRootFilesystem, true, `${d.metadata.name}/${c.name}: readOnlyRootFilesystem`);
        assert.equal(ctx.allowPrivilegeEscalation, false, `${d.metadata.name}/${c.name}: no privilege escalation`);
        assert.match(c.image, /:[\w.-]+$/, `${c.image}: a tag`);
        assert.doesNotMatch(c.image, /:latest$/);
      }
    }
    // The Dockerfile's USER node is uid 1000 in the node images.
    assert.equal(pod.securityContext.runAsUser, 1000);
  });

  test('a pod being stopped has time to leave the balancer and drain', () => {
    const preStop = container.lifecycle.preStop.exec.command;
    assert.equal(preStop[0], 'sleep');
    const needed = Number(preStop[1]) + SHUTDOWN_GRACE_MS / 1000;
    assert.ok(pod.terminationGracePeriodSeconds > needed, `grace ${pod.terminationGracePeriodSeconds} s > ${needed} s`);
  });
});

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}
