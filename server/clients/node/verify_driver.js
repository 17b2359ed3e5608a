'use strict';
// Conformance driver: the official `twilio` npm SDK (6.2.0), unmodified,
// against passcode-server's Verify v2 surface, pointed at it by the SDK's
// own per-domain base URL (`client.verify.baseUrl`) and nothing else.
// Environment: see ../python/verify_driver.py. Prints `N passed, M failed`.

const crypto = require('crypto');
const fs = require('fs');
const twilio = require('twilio');

if (require('twilio/package.json').version !== '6.2.0') {
  throw new Error('twilio 6.2.0 expected');
}

const BASE = process.env.VERIFY_BASE_URL;
const SID = process.env.VERIFY_ACCOUNT_SID;
const TOKEN = process.env.VERIFY_AUTH_TOKEN;
const MESSAGES = process.env.AUTHY_MESSAGES_FILE;
// Where the SMTP server run.sh started writes each mail (JSON); empty when
// the server has no mailer.
const MAIL_DIR = process.env.VERIFY_MAIL_DIR || '';

function clientFor(sid, token) {
  const c = twilio(sid, token);
  c.verify.baseUrl = BASE;
  return c;
}

const client = clientFor(SID, TOKEN);
const restricted = clientFor(process.env.VERIFY_RESTRICTED_SID, process.env.VERIFY_RESTRICTED_TOKEN);
const S = {};
let passed = 0;
let failed = 0;

class CaseFailure extends Error {}
function check(cond, what) { if (!cond) throw new CaseFailure(what); }
function eq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new CaseFailure(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
}
async function expectError(fn, status, code, what) {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CaseFailure) throw e;
    eq(e.status, status, `${what} status (${e.message})`);
    eq(e.code, code, `${what} code (${e.message})`);
    eq(e.moreInfo, `https://www.twilio.com/docs/errors/${code}`, `${what} more_info`);
    return e;
  }
  throw new CaseFailure(`${what}: expected HTTP ${status} / ${code}, got success`);
}

function messageCount() {
  try {
    return fs.readFileSync(MESSAGES, 'utf8').split('\n').filter((l) => l.trim()).length;
  } catch (e) {
    return 0;
  }
}
async function waitCode(after, to, channel = 'sms') {
  const deadline = Date.now() + 5000;
  for (;;) {
    let lines = [];
    try {
      lines = fs.readFileSync(MESSAGES, 'utf8').split('\n').filter((l) => l.trim());
    } catch (e) { /* not yet written */ }
    for (const line of lines.slice(after).reverse()) {
      const m = JSON.parse(line);
      if (m.to === to && m.channel === channel) return m;
    }
    if (Date.now() > deadline) throw new CaseFailure(`no ${channel} message to ${to}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
function mails() {
  return fs.readdirSync(MAIL_DIR).filter((n) => n.endsWith('.json')).sort();
}
async function waitMail(after, to) {
  const deadline = Date.now() + 10000;
  for (;;) {
    for (const name of mails().slice(after).reverse()) {
      const m = JSON.parse(fs.readFileSync(`${MAIL_DIR}/${name}`, 'utf8'));
      if (m.rcpt_tos.includes(to)) return m;
    }
    if (Date.now() > deadline) throw new CaseFailure(`no mail to ${to}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
function wrong(code) {
  return String((Number(code) + 1) % (10 ** code.length)).padStart(code.length, '0');
}

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s), written here as an independent
// implementation to check the server's codes against.
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}
function totp(secret, unix) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unix / 30)));
  const mac = crypto.createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[19] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(value).padStart(6, '0');
}

const svc = () => client.verify.v2.services(S.service);
const start = (to, channel = 'sms') => svc().verifications.create({ to, channel });
const checkCode = (code, to, verificationSid) =>
  svc().verificationChecks.create(verificationSid ? { code, verificationSid } : { code, to });

const CASES = [
  ['services.create', async () => {
    const s = await client.verify.v2.services.create({ friendlyName: 'Node One', codeLength: 7 });
    check(/^VA[0-9a-f]{32}$/.test(s.sid), `sid ${s.sid}`);
    eq(s.accountSid, SID, 'accountSid');
    eq(s.codeLength, 7, 'codeLength');
    check(s.dateCreated instanceof Date && !isNaN(s.dateCreated), 'dateCreated is a Date');
    check(s.url.startsWith(`${BASE}/v2/Services/${s.sid}`), `url ${s.url}`);
    S.service = s.sid;
  }],
  ['services.fetch_update', async () => {
    const s = await svc().update({ friendlyName: 'Node Two', 'totp.issuer': 'Example', 'totp.skew': 2 });
    eq(s.friendlyName, 'Node Two', 'name');
    eq(s.totp.issuer, 'Example', 'totp.issuer');
    eq(s.totp.skew, 2, 'totp.skew');
    eq((await svc().fetch()).friendlyName, 'Node Two', 'fetched');
  }],
  ['services.paging_120', async () => {
    const made = [];
    for (let i = 0; i < 120; i++) made.push((await client.verify.v2.services.create({ friendlyName: `Page ${i}` })).sid);
    const listed = (await client.verify.v2.services.list({ pageSize: 50 })).map((s) => s.sid);
    for (const sid of made) check(listed.includes(sid), `service ${sid} listed`);
    eq(new Set(listed).size, listed.length, 'no duplicates');
    for (const sid of made) await client.verify.v2.services(sid).remove();
    await expectError(() => client.verify.v2.services(made[0]).fetch(), 404, 20404, 'deleted service');
  }],
  ['verifications.send_check_approve_404', async () => {
    const to = '+14155550201';
    const n = messageCount();
    const v = await start(to);
    check(/^VE[0-9a-f]{32}$/.test(v.sid), `sid ${v.sid}`);
    eq([v.status, v.valid, v.channel], ['pending', false, 'sms'], 'pending');
    const m = await waitCode(n, to);
    eq(m.code.length, 7, 'the service code length');
    const c = await checkCode(m.code, to);
    eq([c.status, c.valid, c.sid], ['approved', true, v.sid], 'approved');
    await expectError(() => checkCode(m.code, to), 404, 20404, 'check after approval');
    await expectError(() => svc().verifications(v.sid).fetch(), 404, 20404, 'fetch after approval');
  }],
  ['verifications.resend_same_sid_code_60203', async () => {
    const to = '+14155550202';
    let n = messageCount();
    const first = await start(to);
    const code = (await waitCode(n, to)).code;
    for (let i = 2; i <= 5; i++) {
      n = messageCount();
      const again = await start(to);
      eq(again.sid, first.sid, `send ${i} SID`);
      eq(again.sendCodeAttempts.length, i, `send ${i} attempts`);
      eq((await waitCode(n, to)).code, code, `send ${i} code`);
    }
    await expectError(() => start(to), 429, 60203, 'sixth send');
  }],
  ['verifications.wrong_pending_60202_404', async () => {
    const to = '+14155550203';
    const n = messageCount();
    const v = await start(to);
    const code = (await waitCode(n, to)).code;
    for (let i = 0; i < 5; i++) eq((await checkCode(wrong(code), undefined, v.sid)).status, 'pending', `wrong ${i + 1}`);
    await expectError(() => checkCode(code, to), 429, 60202, 'sixth check');
    eq((await svc().verifications(v.sid).fetch()).status, 'max_attempts_reached', 'status');
    await expectError(() => checkCode(code, to), 404, 20404, 'after max attempts');
  }],
  ['verifications.cancel_60441', async () => {
    const to = '+14155550204';
    const v = await start(to);
    eq((await svc().verifications(v.sid).update({ status: 'canceled' })).status, 'canceled', 'canceled');
    eq((await svc().verifications(v.sid).fetch()).status, 'canceled', 'fetch canceled');
    await expectError(() => svc().verifications(v.sid).update({ status: 'approved' }), 404, 20404, 'update after cancel');
    const w = await start(to);
    await expectError(() => svc().verifications(w.sid).update({ status: 'expired' }), 400, 60441, 'illegal status');
  }],
  ['verifications.bad_input', async () => {
    await expectError(() => svc().verifications.create({ to: '12', channel: 'sms' }), 400, 60200, 'bad To');
    await expectError(() => svc().verifications.create({ to: '+14155550205', channel: 'sna' }), 400, 60223, 'sna');
    await expectError(() => svc().verificationChecks.create({ code: '1234567', to: '+14155550299' }), 404, 20404, 'nothing pending');
  }],
  ['verifications.email_delivered_and_checked', async () => {
    if (!MAIL_DIR) {
      await expectError(() => start('a@example.com', 'email'), 400, 60217, 'email without a mailer');
      return;
    }
    const to = 'node-sdk@example.com';
    const n = mails().length;
    const v = await svc().verifications.create({ to, channel: 'email', channelConfiguration: { from: 'security@conformance.test' } });
    eq([v.status, v.channel, v.to], ['pending', 'email', to], 'email verification');
    const m = await waitMail(n, to);
    eq(m.from, 'Conformance <security@conformance.test>', 'From: the request\'s address, the server\'s name');
    const found = /\b(\d{7})\b/.exec(m.text);
    check(found !== null, `the code in ${m.text}`);
    eq((await checkCode(wrong(found[1]), to)).status, 'pending', 'a wrong code');
    const c = await checkCode(found[1], to);
    eq([c.status, c.channel, c.to], ['approved', 'email', to], 'the mailed code approves');
    await expectError(() => svc().verifications.create({ to, channel: 'email', channelConfiguration: { from: 'x@elsewhere.example' } }), 400, 60200, 'another domain');
  }],
  ['verifications.channel_disabled_60223', async () => {
    const s = await restricted.verify.v2.services.create({ friendlyName: 'Restricted Node' });
    await expectError(() => restricted.verify.v2.services(s.sid).verifications.create({ to: '+14155550206', channel: 'call' }), 400, 60223, 'calls off');
  }],
  ['factors.totp_enrol_verify_challenge_paging_120', async () => {
    const identity = 'node-user-0001';
    const ent = () => svc().entities(identity);
    const f = await ent().newFactors.create({ friendlyName: 'Phone', factorType: 'totp' });
    check(/^YF[0-9a-f]{32}$/.test(f.sid), `sid ${f.sid}`);
    eq(f.status, 'unverified', 'status');
    const secret = f.binding.secret;
    // RFC 6238's SHA-1 vector at T = 59 first: the implementation here is right.
    eq(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59), '287082', 'RFC 6238 vector');
    const now = Date.now() / 1000;
    eq((await ent().factors(f.sid).update({ authPayload: totp(secret, now - 30) })).status, 'verified', 'verified');
    const c = await ent().challenges.create({ factorSid: f.sid, authPayload: totp(secret, now) });
    eq(c.status, 'approved', 'approved');
    const again = await ent().challenges.create({ factorSid: f.sid, authPayload: totp(secret, now) });
    eq(again.status, 'pending', 'a step once');
    const made = [];
    for (let i = 0; i < 120; i++) made.push((await ent().challenges.create({ factorSid: f.sid })).sid);
    const listed = (await ent().challenges.list({ status: 'pending', pageSize: 50 })).map((x) => x.sid);
    for (const sid of made) check(listed.includes(sid), `challenge ${sid} listed`);
    eq(new Set(listed).size, listed.length, 'no duplicates');
    const p = made[0];
    eq((await ent().challenges(p).update({ authPayload: totp(secret, now + 30) })).status, 'approved', 'next step');
    await expectError(() => ent().challenges(p).update({ authPayload: totp(secret, now + 30) }), 400, 60322, 'answered');
    eq(await ent().remove(), true, 'entity deleted');
  }],
  ['rate_limits.buckets_20429', async () => {
    const rl = await svc().rateLimits.create({ uniqueName: 'end_user_ip_address' });
    check(/^RK[0-9a-f]{32}$/.test(rl.sid), `sid ${rl.sid}`);
    const b = await svc().rateLimits(rl.sid).buckets.create({ max: 1, interval: 60 });
    eq([b.max, b.interval], [1, 60], 'bucket');
    await svc().verifications.create({ to: '+14155550401', channel: 'sms', rateLimits: { end_user_ip_address: '203.0.113.9' } });
    await expectError(() => svc().verifications.create({ to: '+14155550402', channel: 'sms', rateLimits: { end_user_ip_address: '203.0.113.9' } }), 429, 20429, 'bucket empty');
    eq((await svc().rateLimits.list()).map((x) => x.sid), [rl.sid], 'listed');
    eq(await svc().rateLimits(rl.sid).remove(), true, 'deleted');
  }],
  ['webhooks.signed_for_validateRequest', async () => {
    const http = require('http');
    const received = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        received.push({ signature: req.headers['x-twilio-signature'], params: Object.fromEntries(new URLSearchParams(body)) });
        res.end('ok');
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${server.address().port}/hook`;
      const hook = await svc().webhooks.create({ friendlyName: 'node', eventTypes: ['factor.created'], webhookUrl: url });
      check(/^YW[0-9a-f]{32}$/.test(hook.sid), `sid ${hook.sid}`);
      const f = await svc().entities('node-hook-0001').newFactors.create({ friendlyName: 'Phone', factorType: 'totp' });
      const deadline = Date.now() + 5000;
      while (!received.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      check(received.length > 0, 'a webhook arrived');
      const { signature, params } = received[0];
      eq(params.factor_sid, f.sid, 'factor_sid');
      check(twilio.validateRequest(TOKEN, signature, url, params), "the SDK's validateRequest accepts it");
      check(!twilio.validateRequest('0'.repeat(32), signature, url, params), 'another token does not');
      eq(await svc().webhooks(hook.sid).remove(), true, 'deleted');
    } finally {
      server.close();
    }
  }],
  ['attempts.list_fetch_summary', async () => {
    const to = '+14155550502';
    const n = messageCount();
    const v = await start(to);
    const code = (await waitCode(n, to)).code;
    await checkCode(code, to);
    const attempts = await client.verify.v2.verificationAttempts.list({ verificationSid: v.sid });
    eq(attempts.length, 1, 'one send');
    eq(attempts[0].conversionStatus, 'converted', 'converted');
    eq((await client.verify.v2.verificationAttempts(attempts[0].sid).fetch()).verificationSid, v.sid, 'fetched');
    const summary = await client.verify.v2.verificationAttemptsSummary().fetch({ verifyServiceSid: S.service });
    eq(summary.totalAttempts, summary.totalConverted + summary.totalUnconverted, 'totals add up');
  }],
  ['accounts.api_key', async () => {
    const keyed = twilio(process.env.VERIFY_API_KEY_SID, process.env.VERIFY_API_KEY_SECRET, { accountSid: SID });
    keyed.verify.baseUrl = BASE;
    eq((await keyed.verify.v2.services(S.service).fetch()).accountSid, SID, "the key's account");
    const bad = twilio(process.env.VERIFY_API_KEY_SID, 'x'.repeat(32), { accountSid: SID });
    bad.verify.baseUrl = BASE;
    await expectError(() => bad.verify.v2.services(S.service).fetch(), 401, 20003, 'wrong secret');
  }],
  ['unsupported.templates_access_tokens', async () => {
    eq(await client.verify.v2.templates.list(), [], 'no templates');
    const e = await expectError(() => svc().accessTokens.create({ identity: 'x', factorType: 'push' }), 404, 20404, 'access tokens');
    check(e.message.includes('does not support it'), `says why: ${e.message}`);
  }],
  ['accounts.bad_credentials_20003', async () => {
    await expectError(() => clientFor(SID, '0'.repeat(32)).verify.v2.services.list({ limit: 1 }), 401, 20003, 'wrong token');
  }],
];

(async () => {
  for (const [name, fn] of CASES) {
    try {
      await fn();
      passed++;
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e instanceof CaseFailure ? e.message : e.stack}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
