/**
 * The workflows and the release script hold promises that nothing else checks
 * before they run on GitHub: third-party actions pinned by commit, the reusable
 * workflow's interface and permissions, no e2e run (with id-token and packages
 * write) for fork PRs, and a release script that refuses a wrong version.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

type Step = { name?: string; id?: string; uses?: string; run?: string; with?: Record<string, unknown>; if?: string };
type Job = { if?: string; permissions?: unknown; steps?: Step[]; uses?: string };
type Workflow = { on: Record<string, unknown>; permissions?: unknown; jobs: Record<string, Job> };

const ROOT = process.cwd();
const WORKFLOWS_DIR = path.join(ROOT, '.github/workflows');
const workflowFiles = fs.readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f));
const raw = (file: string) => fs.readFileSync(path.join(WORKFLOWS_DIR, file), 'utf8');
const load = (file: string) => parse(raw(file)) as Workflow;
const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((job) => job.steps ?? []);
const stepUsing = (wf: Workflow, action: string) => steps(wf).filter((s) => s.uses?.startsWith(`${action}@`));

const tempDirs: string[] = [];
const makeTempDir = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** Every `uses:` line as written, with its trailing comment (the YAML parser drops comments). */
function usesLines(file: string): { ref: string; comment: string }[] {
  return [...raw(file).matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)[ \t]*(?:#[ \t]*(.*))?$/gm)].map((m) => ({
    ref: m[1].replace(/^['"]|['"]$/g, ''),
    comment: m[2] ?? '',
  }));
}

/**
 * A `uses:` that runs exactly the code reviewed: a path in the checkout, an action or reusable
 * workflow at a full commit SHA, a Docker image by digest. A tag or branch (even this
 * repository's own `@v1`) runs whatever it points to when the job starts.
 */
export function pinned(uses: string): boolean {
  if (uses.startsWith('./')) return true;
  if (uses.startsWith('docker://')) return /^docker:\/\/[^@\s]+@sha256:[0-9a-f]{64}$/.test(uses);
  return /^[A-Za-z0-9][A-Za-z0-9-]*\/[\w.-]+(\/[^@\s]+)?@[0-9a-f]{40}$/.test(uses);
}

type ActionYml = { runs: { using: string; image?: string; steps?: Step[] } };
/** Every `uses` in a file, as the YAML parser sees it and as a line scan sees it (one catches what the other misses). */
function everyUses(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const scanned = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)/gm)].map((m) => m[1].replace(/^['"]|['"]$/g, ''));
  const doc = parse(text) as Workflow & ActionYml;
  const parsed = doc.jobs
    ? [...steps(doc).map((s) => s.uses), ...Object.values(doc.jobs).map((j) => j.uses)]
    : [...(doc.runs.steps ?? []).map((s) => s.uses), doc.runs.using === 'docker' && doc.runs.image !== 'Dockerfile' ? doc.runs.image : undefined];
  return [...new Set([...scanned, ...parsed.filter((u): u is string => !!u)])];
}

describe('workflows: third-party actions', () => {
  it('finds the workflows this project relies on', () => {
    for (const f of ['ci.yml', 'check-dist.yml', 'publish-image.yaml', 'e2e.yml', 'codeql.yml', 'dependabot-dist.yml']) {
      expect(workflowFiles).toContain(f);
    }
  });

  it.each([...workflowFiles.map((f) => `.github/workflows/${f}`), 'action.yml'])('%s runs only ./… or what is pinned to a full commit SHA (images by digest)', (file) => {
    const uses = everyUses(path.join(ROOT, file));
    if (file !== 'action.yml') expect(uses.length).toBeGreaterThan(0);
    expect(uses.filter((u) => !pinned(u))).toEqual([]);
  });

  it('tells pinned from unpinned', () => {
    const sha = 'a'.repeat(40);
    for (const ok of ['./', './.kupecloud-sign-action', `actions/checkout@${sha}`, `github/codeql-action/init@${sha}`,
      `acme/flows/.github/workflows/x.yml@${sha}`, `docker://alpine@sha256:${'b'.repeat(64)}`]) expect([ok, pinned(ok)]).toEqual([ok, true]);
    for (const bad of ['kupecloud/sign-action@v1', 'actions/checkout@main', `actions/checkout@${sha.slice(1)}`, `actions/checkout@${sha.toUpperCase()}`,
      'docker://alpine:3.20', `docker://alpine:3.20@sha256:${'b'.repeat(63)}`, `actions/checkout@${sha} `, '.github/actions/x', `../x@${sha}`]) {
      expect([bad, pinned(bad)]).toEqual([bad, false]);
    }
  });

  it.each(workflowFiles)('%s pins every third-party action by a full commit SHA with its version', (file) => {
    const lines = usesLines(file);
    const parsed = [...steps(load(file)).map((s) => s.uses), ...Object.values(load(file).jobs).map((j) => j.uses)];
    // The line scan must see every `uses` the parser sees, or the check below has holes.
    expect(lines.map((l) => l.ref).sort()).toEqual(parsed.filter((u): u is string => !!u).sort());
    for (const { ref, comment } of lines) {
      if (ref.startsWith('./')) continue;
      expect(`${ref} ${comment}`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40} v\d+\.\d+\.\d+$/);
    }
  });

  it('pins each action to one commit across all workflows', () => {
    const shaByRepo = new Map<string, Set<string>>();
    for (const { ref } of workflowFiles.flatMap(usesLines)) {
      const m = /^([\w.-]+\/[\w.-]+)[^@]*@([0-9a-f]{40})$/.exec(ref);
      if (m) shaByRepo.set(m[1], (shaByRepo.get(m[1]) ?? new Set()).add(m[2]));
    }
    expect(shaByRepo.size).toBeGreaterThan(5);
    for (const [repo, shas] of shaByRepo) expect([repo, shas.size]).toEqual([repo, 1]);
  });

  it.each(workflowFiles)('%s passes values to run scripts through env, never spliced into the script', (file) => {
    for (const step of steps(load(file))) expect(step.run ?? '').not.toContain('${{');
  });
});

describe('publish-image.yaml (reusable workflow)', () => {
  const wf = load('publish-image.yaml');
  const call = wf.on.workflow_call as {
    inputs: Record<string, { required?: boolean; type: string; default?: string }>;
    outputs: Record<string, { value: string }>;
  };
  const job = wf.jobs.publish;

  it('is called with a required version and documented defaults', () => {
    expect(Object.keys(wf.on)).toEqual(['workflow_call']);
    expect(call.inputs.version).toMatchObject({ required: true, type: 'string' });
    expect(call.inputs.context.default).toBe('.');
    expect(call.inputs.platforms.default).toBe('linux/amd64');
    expect(call.inputs['signature-format'].default).toBe('legacy');
    for (const input of ['file', 'image', 'recursive']) expect(call.inputs[input]).toBeDefined();
  });

  it('exposes the digest and the signature facts as outputs', () => {
    for (const out of ['digest', 'image', 'rekor-entry-url', 'rekor-log-index', 'certificate-identity']) {
      expect(call.outputs[out].value).toBe(`\${{ jobs.publish.outputs.${out} }}`);
    }
  });

  it('asks for exactly the three permissions, at job level', () => {
    expect(wf.permissions).toEqual({});
    expect(job.permissions).toEqual({ contents: 'read', packages: 'write', 'id-token': 'write' });
  });

  it('tags sha-<commit> and the semantic versions, and signs the pushed digest', () => {
    const tags = String(stepUsing(wf, 'docker/metadata-action')[0].with?.tags);
    expect(tags).toContain('type=raw,value=sha-${{ github.sha }}');
    expect(tags).toContain('pattern={{major}}.{{minor}}');
    const sign = steps(wf).find((s) => s.id === 'sign');
    expect(sign?.with?.digest).toBe('${{ steps.build.outputs.digest }}');
  });

  it("runs the action from this workflow's own commit, checked out after the build into a folder of its own", () => {
    const all = steps(wf);
    const at = (pred: (s: Step) => boolean) => all.findIndex(pred);
    const sign = all[at((s) => s.id === 'sign')];
    const folder = /^\.\/(.+)$/.exec(sign.uses ?? '')?.[1];
    expect(folder).toMatch(/^[\w.-]+$/);
    const checkout = at((s) => s.uses?.startsWith('actions/checkout@') === true && s.with?.path === folder);
    expect(all[checkout].with).toEqual({
      repository: '${{ steps.self.outputs.repository }}',
      ref: '${{ steps.self.outputs.sha }}',
      path: folder,
      'persist-credentials': false,
    });
    // The commit is found before anything is pushed; the checkout comes after the build (not in its context).
    expect(at((s) => s.id === 'self')).toBeGreaterThanOrEqual(0);
    expect(at((s) => s.id === 'self')).toBeLessThan(at((s) => s.id === 'build'));
    expect(at((s) => s.id === 'build')).toBeLessThan(checkout);
    expect(checkout).toBeLessThan(at((s) => s.id === 'sign'));
    expect(all.some((s) => s.uses?.startsWith('kupecloud/sign-action@'))).toBe(false);
  });

  describe('its input check', () => {
    const script = steps(wf).find((s) => s.id === 'inputs')!.run!;
    const check = (env: Record<string, string>) => {
      const out = path.join(makeTempDir('publish-'), 'output');
      const base = { SIGNATURE_FORMAT: 'legacy', RECURSIVE: 'none', IMAGE: '', GITHUB_REPOSITORY: 'Kupe/My-App' };
      const r = spawnSync('bash', ['-e', '-c', script], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, GITHUB_OUTPUT: out, ...base, ...env },
      });
      return { status: r.status, stdout: r.stdout, output: fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '' };
    };

    it('rejects a leading v and shows how to strip it', () => {
      const r = check({ VERSION: 'v1.2.3' });
      expect(r.status).not.toBe(0);
      expect(r.stdout).toContain("version 'v1.2.3' starts with 'v'");
      expect(r.stdout).toContain('${GITHUB_REF_NAME#v}');
      expect(r.stdout).toContain('${{ needs.version.outputs.version }}');
    });

    it.each(['1.2', '1.2.3.4', '01.2.3', '1.2.3+build', 'latest'])('rejects %s', (version) => {
      const r = check({ VERSION: version });
      expect([r.status, r.stdout]).toEqual([1, expect.stringContaining('is not X.Y.Z')]);
    });

    it.each(['1.2.3', '0.1.0', '1.2.3-rc.1'])('accepts %s and defaults the image to ghcr.io/<owner>/<repo>, lower-cased', (version) => {
      const r = check({ VERSION: version });
      expect([r.status, r.output]).toEqual([0, 'image=ghcr.io/kupe/my-app\n']);
    });

    it('rejects an image outside ghcr.io or with upper case, and an unknown format', () => {
      expect(check({ VERSION: '1.2.3', IMAGE: 'docker.io/acme/app' }).stdout).toContain('not on ghcr.io');
      expect(check({ VERSION: '1.2.3', IMAGE: 'ghcr.io/Acme/app' }).stdout).toContain('ghcr.io/acme/app');
      expect(check({ VERSION: '1.2.3', SIGNATURE_FORMAT: 'cosign' }).status).toBe(1);
    });
  });
});

/** Evaluates a job's `if:` the way GitHub does for these simple comparisons. */
function evaluateIf(expression: string, github: Record<string, unknown>): boolean {
  const js = expression.replace(/\$\{\{|\}\}/g, '').replace(/([=!])=/g, '$1==');
  return Boolean(new Function('github', `return (${js});`)(github));
}

describe('e2e.yml', () => {
  const wf = load('e2e.yml');
  const job = wf.jobs.e2e;
  const repository = 'kupecloud/sign-action';
  const pr = (headRepo: string, actor = 'someone') => ({
    event_name: 'pull_request',
    repository,
    actor,
    event: { pull_request: { head: { repo: { full_name: headRepo } } } },
  });

  it('runs on pushes to main and on PRs from this repository, never on fork PRs', () => {
    expect(Object.keys(wf.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(evaluateIf(job.if!, { event_name: 'push', repository, actor: 'someone', event: {} })).toBe(true);
    expect(evaluateIf(job.if!, pr(repository))).toBe(true);
    expect(evaluateIf(job.if!, pr('mallory/sign-action'))).toBe(false);
    expect(evaluateIf(job.if!, pr(repository, 'dependabot[bot]'))).toBe(false);
  });

  it('signs with this checkout in the three formats and verifies with cosign 2, cosign 3 and verify mode', () => {
    expect(job.permissions).toEqual({ contents: 'read', packages: 'write', 'id-token': 'write' });
    const local = steps(wf).filter((s) => s.uses === './');
    expect(local.map((s) => s.with?.['signature-format'] ?? s.with?.mode)).toEqual(['legacy', 'bundle', 'both', 'verify']);
    const env = (wf as unknown as { env: Record<string, string> }).env;
    const releases = stepUsing(wf, 'sigstore/cosign-installer').map((s) => String(s.with?.['cosign-release']));
    expect(releases.map((r) => r.replace(/\$\{\{ env\.(\w+) \}\}/, (_, k: string) => env[k]))).toEqual([
      expect.stringMatching(/^v2\.\d+\.\d+$/),
      expect.stringMatching(/^v3\.\d+\.\d+$/),
    ]);
  });

  it('deletes what it pushed even when a step failed', () => {
    const cleanup = steps(wf).at(-1)!;
    expect(cleanup.if).toMatch(/^always\(\)/);
    expect(cleanup.run).toContain('gh api -X DELETE');
  });
});

describe('other workflows', () => {
  it('ci.yml runs .ci/run with read-only contents on Node from .node-version', () => {
    const wf = load('ci.yml');
    expect(Object.keys(wf.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect(steps(wf).some((s) => /^bash \.ci\/run$/m.test(s.run ?? ''))).toBe(true);
    expect(stepUsing(wf, 'actions/setup-node')[0].with?.['node-version-file']).toBe('.node-version');
    expect(fs.readFileSync(path.join(ROOT, '.node-version'), 'utf8').trim()).toBe('24');
  });

  it('check-dist.yml rebuilds dist and uploads the expected one when it differs', () => {
    const wf = load('check-dist.yml');
    expect(steps(wf).some((s) => /npm run build/.test(s.run ?? ''))).toBe(true);
    expect(stepUsing(wf, 'actions/upload-artifact')[0].if).toContain('failure()');
  });

  it('dependabot-dist.yml runs dependency code only in the job without write access', () => {
    const wf = load('dependabot-dist.yml');
    expect(wf.jobs.build.if).toContain("github.actor == 'dependabot[bot]'");
    expect(wf.jobs.build.permissions).toEqual({ contents: 'read' });
    expect(wf.jobs.push.permissions).toEqual({ contents: 'write' });
    for (const s of wf.jobs.push.steps ?? []) expect(s.run ?? '').not.toMatch(/\bnpm\b|\bnode\b/);
  });

  it('dependabot.yml groups npm updates into production and development, and actions weekly', () => {
    type Update = { 'package-ecosystem': string; schedule: { interval: string }; groups: Record<string, unknown> };
    const config = parse(fs.readFileSync(path.join(ROOT, '.github/dependabot.yml'), 'utf8')) as { updates: Update[] };
    const npm = config.updates.find((u) => u['package-ecosystem'] === 'npm')!;
    expect(npm.groups).toEqual({
      production: { 'dependency-type': 'production' },
      development: { 'dependency-type': 'development' },
    });
    const actions = config.updates.find((u) => u['package-ecosystem'] === 'github-actions')!;
    expect([npm.schedule.interval, actions.schedule.interval]).toEqual(['weekly', 'weekly']);
  });
});

describe('scripts/release.sh', () => {
  const git = (cwd: string, ...args: string[]) => {
    const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: gitEnv });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  // A repository of our own: no user or system git config (signing, hooks) leaks in.
  const gitEnv = {
    PATH: process.env.PATH,
    HOME: os.tmpdir(),
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Release Test',
    GIT_AUTHOR_EMAIL: 'release@example.test',
    GIT_COMMITTER_NAME: 'Release Test',
    GIT_COMMITTER_EMAIL: 'release@example.test',
  };
  const BUILD = `node -e "require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/index.js','built\\\\n')"`;

  /** A tiny copy of the project: the script, a build that writes dist/, a changelog. */
  function makeRepo(opts: { dist?: string; changelog?: string } = {}): string {
    const dir = makeTempDir('release-');
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.copyFileSync(path.join(ROOT, 'scripts/release.sh'), path.join(dir, 'scripts/release.sh'));
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'x', private: true, scripts: { build: BUILD } }));
    fs.writeFileSync(path.join(dir, 'dist/index.js'), opts.dist ?? 'built\n');
    fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), opts.changelog ?? '# Changelog\n\n## [1.2.3] - 2026-01-02\n\n- Things.\n');
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'init');
    return dir;
  }
  const release = (dir: string, ...args: string[]) =>
    spawnSync('bash', [path.join(dir, 'scripts/release.sh'), ...args], { cwd: os.tmpdir(), encoding: 'utf8', env: gitEnv });

  it.each([
    ['v1.2.3', "starts with 'v'"],
    ['1.2', 'is not a version X.Y.Z'],
    ['1.2.3.4', 'is not a version X.Y.Z'],
    ['01.2.3', 'is not a version X.Y.Z'],
  ])('rejects %s before touching anything', (version, why) => {
    const dir = makeRepo();
    const r = release(dir, version);
    expect([r.status, r.stderr]).toEqual([2, expect.stringContaining(why)]);
    expect(git(dir, 'tag')).toBe('');
  });

  it('tags vX.Y.Z (annotated) and moves vX, printing the push commands without pushing', () => {
    const dir = makeRepo();
    const r = release(dir, '1.2.3');
    expect(r.status).toBe(0);
    expect(git(dir, 'cat-file', '-t', 'v1.2.3')).toBe('tag');
    expect(git(dir, 'rev-parse', 'v1^{commit}')).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(r.stdout).toContain('git push origin refs/tags/v1.2.3');
    expect(r.stdout).toContain('git push --force origin refs/tags/v1');
  });

  it('leaves the major tag alone for a pre-release', () => {
    const dir = makeRepo({ changelog: '## 1.3.0-rc.1\n' });
    expect(release(dir, '1.3.0-rc.1').status).toBe(0);
    expect(git(dir, 'tag')).toBe('v1.3.0-rc.1');
  });

  it.each([
    ['a dirty tree', (dir: string) => fs.writeFileSync(path.join(dir, 'stray.txt'), 'x'), 'not clean'],
    ['another branch', (dir: string) => git(dir, 'switch', '-q', '-c', 'topic'), 'releases are cut from main'],
    ['an existing tag', (dir: string) => git(dir, 'tag', 'v1.2.3'), 'already exists'],
  ])('refuses %s', (_what, arrange, why) => {
    const dir = makeRepo();
    arrange(dir);
    const r = release(dir, '1.2.3');
    expect([r.status, r.stderr]).toEqual([1, expect.stringContaining(why)]);
  });

  it('compares main with origin/main when there is an origin, and refuses a tag origin already has', () => {
    const dir = makeRepo();
    const origin = makeTempDir('origin-');
    git(origin, 'init', '-q', '--bare', '-b', 'main');
    git(dir, 'remote', 'add', 'origin', origin);
    git(dir, 'push', '-q', 'origin', 'main');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'not pushed yet');
    expect(release(dir, '1.2.3').stderr).toContain('main is not origin/main');
    git(dir, 'push', '-q', 'origin', 'main');
    git(origin, 'tag', 'v1.2.3', 'main');
    expect(release(dir, '1.2.3').stderr).toContain('origin already has the tag v1.2.3');
  });

  it('refuses a version without a CHANGELOG section, and a stale dist', () => {
    const noSection = release(makeRepo({ changelog: '## [1.2.30]\n' }), '1.2.3');
    expect([noSection.status, noSection.stderr]).toEqual([1, expect.stringContaining("no '## 1.2.3' section")]);
    const stale = makeRepo({ dist: 'old\n' });
    const r = release(stale, '1.2.3');
    expect([r.status, r.stderr]).toEqual([1, expect.stringContaining('dist/ was not up to date')]);
    expect(git(stale, 'tag')).toBe('');
  });
});
