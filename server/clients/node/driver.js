#!/usr/bin/env node
'use strict';

/*
 * Conformance driver: the npm `authy-client` 1.1.4, unmodified, against a
 * running passcode-server (wire spec: shared/AUTHY-API.md).
 *
 * authy-client checks every response itself: a non-200 status rejects with an
 * HttpError, a body without a truthy `success` with HttpError(500), and a
 * missing field or a wrong message with AssertionFailedError. So a call that
 * resolves is already a pass; the driver also checks the returned values.
 *
 * Environment (set by ../run.sh): AUTHY_BASE_URL, AUTHY_APP_ID, AUTHY_API_KEY,
 * AUTHY_SANDBOX_API_KEY, AUTHY_RESTRICTED_API_KEY (sms, calls, generic tokens
 * off), AUTHY_MESSAGES_FILE.
 *
 * Install: npm ci (in this directory). Only node built-ins besides authy-client.
 */

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const { Client, errors } = require('authy-client');

const BASE_URL = process.env.AUTHY_BASE_URL.replace(/\/+$/, '');
const APP_ID = Number(process.env.AUTHY_APP_ID);
const API_KEY = process.env.AUTHY_API_KEY;
const SANDBOX_KEY = process.env.AUTHY_SANDBOX_API_KEY || '';
const RESTRICTED_KEY = process.env.AUTHY_RESTRICTED_API_KEY || '';
const MESSAGES = process.env.AUTHY_MESSAGES_FILE;

// Numbers used only by this driver (the Python driver uses others).
const USER = { countryCode: 'US', phone: '775-461-5612', e164: '+17754615612' };
const VERIFY = { countryCode: 'US', phone: '775-461-5613', e164: '+17754615613', display: '+1 775-461-5613' };
const UK = { countryCode: 'GB', phone: '7400 123457', e164: '+447400123457' };
const SANDBOX_USER = 51;
const SANDBOX_PHONE = { countryCode: 'US', phone: '305-456-2345' };

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July',
  'August', 'September', 'October', 'November', 'December'];
const STATS_KEYS = ['api_calls_count', 'auths_count', 'calls_count', 'month', 'sms_count', 'users_count', 'year'];

let passed = 0;
let failed = 0;
const S = {};

class CaseFailure extends Error {}

function check(cond, why) {
  if (!cond) throw new CaseFailure(why);
}

function eq(actual, expected, what) {
  if (actual !== expected) {
    throw new CaseFailure(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

function describe(e) {
  if (e instanceof CaseFailure) return e.message;
  let s = `${e && e.name}: ${e && e.message}`;
  if (e && e.code !== undefined) s += ` (code ${e.code})`;
  if (e && e.body !== undefined) s += ` body=${JSON.stringify(e.body)}`;
  if (e && e.errors !== undefined) s += ` errors=${JSON.stringify(e.errors)}`;
  if (e && e.data !== undefined && e instanceof errors.AssertionFailedError) s += ` data=${JSON.stringify(e.data)}`;
  return s.slice(0, 800);
}

async function runCase(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`PASS ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${describe(e)}`);
  }
}

function notCovered(method, why) {
  console.log(`NOT COVERED ${method}: ${why}`);
}

// Expect the promise to reject with an HttpError carrying this status and body.
async function expectHttpError(promise, status, code, message, what) {
  let res;
  try {
    res = await promise;
  } catch (e) {
    check(e instanceof errors.HttpError, `${what}: expected HttpError, got ${describe(e)}`);
    eq(e.code, status, `${what} HTTP status (body ${JSON.stringify(e.body)})`);
    const b = e.body;
    check(b && typeof b === 'object', `${what}: error body is not JSON: ${JSON.stringify(b)}`);
    eq(b.success, false, `${what} success`);
    check(typeof b.error_code === 'string', `${what}: error_code must be a JSON string, got ${JSON.stringify(b.error_code)}`);
    eq(b.error_code, code, `${what} error_code`);
    if (message !== null) {
      eq(b.message, message, `${what} message`);
      eq(b.errors && b.errors.message, message, `${what} errors.message`);
    }
    return b;
  }
  throw new CaseFailure(`${what}: expected HTTP ${status}, the call resolved with ${JSON.stringify(res)}`);
}

async function expectValidationError(promise, what) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof errors.ValidationFailedError, `${what}: expected ValidationFailedError, got ${describe(e)}`);
    return;
  }
  throw new CaseFailure(`${what}: the client accepted invalid input`);
}

// ------------------------------------------------------------------ messages

function readMessages() {
  try {
    return fs.readFileSync(MESSAGES, 'utf8').split('\n').filter((l) => l.trim());
  } catch (e) {
    return [];
  }
}

function messageCount() {
  return readMessages().length;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitMessage(after, to, channel, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = readMessages();
    for (const line of lines.slice(after).reverse()) {
      const m = JSON.parse(line);
      if (m.to === to && m.channel === channel) return m;
    }
    if (Date.now() > deadline) {
      throw new CaseFailure(`no ${channel} message to ${to} delivered within ${timeoutMs / 1000}s (file has ${lines.length} lines, ${after} before)`);
    }
    await sleep(100);
  }
}

function otherToken(code) {
  const n = code.length;
  return String((Number(code) + 1) % 10 ** n).padStart(n, '0');
}

// ------------------------------------------------------------------ TOTP / raw HTTP

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`bad base32 character ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totp(secret, { digits = 6, period = 30, algorithm = 'sha1', time = Date.now() / 1000 } = {}) {
  const counter = Math.floor(time / period);
  const msg = Buffer.alloc(8);
  msg.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  msg.writeUInt32BE(counter % 2 ** 32, 4);
  const h = crypto.createHmac(algorithm, base32Decode(secret)).update(msg).digest();
  const off = h[h.length - 1] & 0xf;
  const bin = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
  return String(bin % 10 ** digits).padStart(digits, '0');
}

// The authy-client has no QR method: POST users/{id}/secret directly.
function rawRequest(method, path, { body, key = API_KEY } = {}) {
  return new Promise((resolve, reject) => {
    const url = new URL(BASE_URL + path);
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = { 'X-Authy-API-Key': key };
    if (data) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = data.length;
    }
    const req = http.request(url, { method, headers, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// ------------------------------------------------------------------ cases

const client = new Client({ key: API_KEY }, { host: BASE_URL });
const sandbox = new Client({ key: SANDBOX_KEY }, { host: BASE_URL });
const restricted = new Client({ key: RESTRICTED_KEY }, { host: BASE_URL });

const cases = [
  ['client.invalid_key', async () => {
    const bad = new Client({ key: 'not-a-real-key-0123456789' }, { host: BASE_URL });
    await expectHttpError(bad.getApplicationDetails(), 401, '60001', 'Invalid API key', 'getApplicationDetails with a bad key');
  }],

  ['getApplicationDetails', async () => {
    const r = await client.getApplicationDetails();
    eq(r.app.app_id, APP_ID, 'app.app_id');
    eq(r.app.name, 'Conformance App', 'app.name');
    eq(typeof r.app.onetouch_enabled, 'boolean', 'typeof app.onetouch_enabled');
    eq(r.success, true, 'success');
  }],

  ['getApplicationDetails.user_ip', async () => {
    const r = await client.getApplicationDetails({ ip: '127.0.0.1' });
    eq(r.app.app_id, APP_ID, 'app.app_id');
  }],

  ['registerUser', async () => {
    const r = await client.registerUser({ countryCode: USER.countryCode, email: 'node-user@example.com', phone: USER.phone });
    check(Number.isInteger(r.user.id) && r.user.id >= 1000, `user.id must be an integer >= 1000, got ${JSON.stringify(r.user.id)}`);
    S.user = r.user.id;
  }],

  ['registerUser.same_phone_same_id', async () => {
    const r = await client.registerUser({ countryCode: '1', email: 'node-user-2@example.com', phone: USER.phone.replace(/-/g, '') });
    eq(r.user.id, S.user, 'same (country_code, cellphone) gives the same authy id');
  }],

  ['registerUser.client_validation', async () => {
    await expectValidationError(client.registerUser({ countryCode: 'US', email: 'not-an-email', phone: USER.phone }), 'registerUser bad email');
  }],

  ['getUserStatus', async () => {
    // authy-client sends this GET with a JSON body `{}`.
    const r = await client.getUserStatus({ authyId: S.user });
    eq(r.status.authy_id, S.user, 'status.authy_id');
    eq(r.status.country_code, 1, 'status.country_code');
    eq(r.status.phone_number, `XXX-XXX-${USER.phone.slice(-4)}`, 'status.phone_number');
    check(Array.isArray(r.status.devices), 'status.devices must be an array');
  }],

  ['getUserStatus.user_ip', async () => {
    const r = await client.getUserStatus({ authyId: S.user }, { ip: '127.0.0.1' });
    eq(r.status.authy_id, S.user, 'status.authy_id');
  }],

  ['getUserStatus.unknown_user', async () => {
    await expectHttpError(client.getUserStatus({ authyId: 987654 }), 404, '60026', 'User not found.', 'getUserStatus unknown id');
  }],

  ['registerActivity', async () => {
    for (const type of ['password_reset', 'banned', 'unbanned', 'cookie_login']) {
      const r = await client.registerActivity({ authyId: S.user, data: { reason: 'conformance', n: 1 }, type }, { ip: '127.0.0.1' });
      eq(r.success, true, `success (${type})`);
    }
  }],

  ['registerActivity.unknown_user', async () => {
    await expectHttpError(client.registerActivity({ authyId: 987654, type: 'cookie_login' }, { ip: '127.0.0.1' }), 404, '60026', 'User not found.', 'registerActivity unknown id');
  }],

  ['requestSms', async () => {
    const before = messageCount();
    const r = await client.requestSms({ authyId: S.user }, { action: 'login', message: 'Log in to the conformance app', force: true });
    eq(r.message, 'SMS token was sent', 'message');
    eq(r.cellphone, `+1-XXX-XXX-XX${USER.phone.slice(-2)}`, 'cellphone');
    check(!('ignored' in r), `no "ignored" key when sent, got ${JSON.stringify(r)}`);
    const m = await waitMessage(before, USER.e164, 'sms');
    check(/^\d{7}$/.test(m.code), `SMS token must be 7 digits, got ${JSON.stringify(m.code)}`);
    S.smsCode = m.code;
  }],

  ['verifyToken.sms_code.force', async () => {
    const r = await client.verifyToken({ authyId: S.user, token: S.smsCode }, { force: true });
    eq(r.token, 'is valid', 'token');
    check(r.success === true || r.success === 'true', `success, got ${JSON.stringify(r.success)}`);
  }],

  ['verifyToken.replayed_60019', async () => {
    const b = await expectHttpError(client.verifyToken({ authyId: S.user, token: S.smsCode }, { force: true }), 401, '60019', null, 'replayed token');
    eq(b.token, 'is invalid', 'token');
  }],

  ['verifyToken.invalid_60020', async () => {
    const b = await expectHttpError(client.verifyToken({ authyId: S.user, token: otherToken(S.smsCode) }, { force: true }), 401, '60020', 'Token is invalid', 'invalid token');
    eq(b.token, 'is invalid', 'token');
  }],

  ['verifyToken.invalid_unforced_60020', async () => {
    // authy-client sends no `force` unless true; the server must default to force=true
    // (spec §2.6 recommendation), so a wrong token is still rejected.
    await expectHttpError(client.verifyToken({ authyId: S.user, token: otherToken(S.smsCode) }), 401, '60020', 'Token is invalid', 'invalid token, no force');
  }],

  ['verifyToken.unknown_user', async () => {
    await expectHttpError(client.verifyToken({ authyId: 987654, token: '1234567' }, { force: true }), 404, '60026', "User doesn't exist", 'verify unknown user');
  }],

  ['verifyToken.client_validation', async () => {
    await expectValidationError(client.verifyToken({ authyId: S.user, token: '12345' }), 'verifyToken 5-digit token');
  }],

  ['requestSms.unforced', async () => {
    const before = messageCount();
    const r = await client.requestSms({ authyId: S.user });
    eq(r.message, 'SMS token was sent', 'message (no app device: sent)');
    const m = await waitMessage(before, USER.e164, 'sms');
    S.smsCode2 = m.code;
  }],

  ['requestCall', async () => {
    const before = messageCount();
    const r = await client.requestCall({ authyId: S.user }, { action: 'login', message: 'Log in', force: true });
    eq(r.message, 'Call started...', 'message');
    eq(r.cellphone, `+1-XXX-XXX-XX${USER.phone.slice(-2)}`, 'cellphone');
    check(!('ignored' in r), `no "ignored" key when called, got ${JSON.stringify(r)}`);
    const m = await waitMessage(before, USER.e164, 'call');
    S.callCode = m.code;
  }],

  ['verifyToken.call_code', async () => {
    const r = await client.verifyToken({ authyId: S.user, token: S.callCode });
    eq(r.token, 'is valid', 'token');
  }],

  ['requestCall.unknown_user', async () => {
    await expectHttpError(client.requestCall({ authyId: 987654 }, { force: true }), 404, '60026', 'User not found.', 'requestCall unknown id');
  }],

  ['verifyToken.totp_generic_authenticator', async () => {
    const res = await rawRequest('POST', `/protected/json/users/${S.user}/secret`, { body: { label: 'node-user@example.com', qr_size: 200 } });
    eq(res.status, 200, `POST users/{id}/secret status (${res.body.toString().slice(0, 300)})`);
    const j = JSON.parse(res.body.toString());
    check(typeof j.qr_code === 'string' && j.qr_code.startsWith(`${BASE_URL}/`), `qr_code must be a URL on this server, got ${JSON.stringify(j.qr_code)}`);
    const uri = new URL(j.uri);
    eq(uri.protocol, 'otpauth:', 'uri scheme');
    const p = uri.searchParams;
    check((p.get('digits') || '6') === '6', `digits must be 6, got ${p.get('digits')}`);
    check((p.get('period') || '30') === '30', `period must be 30, got ${p.get('period')}`);
    check((p.get('algorithm') || 'SHA1').toUpperCase() === 'SHA1', `algorithm must be SHA1, got ${p.get('algorithm')}`);
    const png = await rawRequest('GET', new URL(j.qr_code).pathname);
    eq(png.status, 200, 'GET qr_code status');
    check(png.body.slice(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'qr_code is not a PNG');
    if (30 - ((Date.now() / 1000) % 30) < 3) await sleep(3500);
    S.totpCode = totp(p.get('secret'));
    const r = await client.verifyToken({ authyId: S.user, token: S.totpCode });
    eq(r.token, 'is valid', 'token');
  }],

  ['verifyToken.totp_replayed_60019', async () => {
    await expectHttpError(client.verifyToken({ authyId: S.user, token: S.totpCode }), 401, '60019', null, 'replayed TOTP');
  }],

  ['requestSms_requestCall.ignored_with_device', async () => {
    // The user now has a device (the generic authenticator): without force, nothing is sent.
    const before = messageCount();
    const s = await client.requestSms({ authyId: S.user });
    eq(s.ignored, true, 'ignored');
    eq(s.message, 'Ignored: SMS is not needed for smartphones. Pass force=true if you want to actually send it anyway.', 'message');
    eq(s.cellphone, `+1-XXX-XXX-XX${USER.phone.slice(-2)}`, 'cellphone');
    const c = await client.requestCall({ authyId: S.user });
    eq(c.ignored, true, 'ignored');
    eq(c.message, 'Call ignored. User is using  App Tokens and this call is not necessary. Pass force=true if you still want to call users that are using the App.', 'message');
    await sleep(300);
    eq(messageCount(), before, 'messages delivered for ignored requests');
  }],

  ['startPhoneVerification.sms', async () => {
    const before = messageCount();
    // authy-client validates codeLength but never sends it (default 4 digits then).
    const r = await client.startPhoneVerification({ countryCode: VERIFY.countryCode, phone: VERIFY.phone, via: 'sms' }, { codeLength: 6, locale: 'en' });
    eq(r.message, `Text message sent to ${VERIFY.display}.`, 'message');
    check(typeof r.carrier === 'string' || r.carrier === null, 'carrier');
    eq(typeof r.is_cellphone, 'boolean', 'typeof is_cellphone');
    check(Number.isInteger(r.seconds_to_expire), 'seconds_to_expire must be an integer');
    const m = await waitMessage(before, VERIFY.e164, 'sms');
    check(/^\d{4}$/.test(m.code), `code_length is not sent by authy-client, so the code has the default 4 digits, got ${JSON.stringify(m.code)}`);
    S.pvCode = m.code;
  }],

  ['verifyPhone.wrong_60022', async () => {
    await expectHttpError(client.verifyPhone({ countryCode: VERIFY.countryCode, phone: VERIFY.phone, token: otherToken(S.pvCode) }), 401, '60022', 'Verification code is incorrect', 'verifyPhone wrong code');
  }],

  ['verifyPhone', async () => {
    const r = await client.verifyPhone({ countryCode: VERIFY.countryCode, phone: VERIFY.phone, token: S.pvCode });
    eq(r.success, true, 'success');
  }],

  ['verifyPhone.no_pending_60023', async () => {
    await expectHttpError(client.verifyPhone({ countryCode: VERIFY.countryCode, phone: VERIFY.phone, token: S.pvCode }), 404, '60023', `No pending verifications for ${VERIFY.display} found.`, 'verifyPhone after success');
  }],

  ['startPhoneVerification.call_uk', async () => {
    const before = messageCount();
    const r = await client.startPhoneVerification({ countryCode: UK.countryCode, phone: UK.phone, via: 'call' });
    check(r.message.startsWith('Call to +44'), `message should read 'Call to +44 ...', got ${JSON.stringify(r.message)}`);
    const m = await waitMessage(before, UK.e164, 'call');
    const v = await client.verifyPhone({ countryCode: '44', phone: UK.phone.replace(/ /g, ''), token: m.code });
    eq(v.message, 'Verification code is correct.', 'message');
  }],

  ['getPhoneInformation', async () => {
    const r = await client.getPhoneInformation({ countryCode: USER.countryCode, phone: USER.phone }, { ip: '127.0.0.1' });
    check(typeof r.type === 'string' && typeof r.provider === 'string' && typeof r.ported === 'boolean', `fields: ${JSON.stringify(r)}`);
  }],

  ['getApplicationStatistics', async () => {
    const r = await client.getApplicationStatistics({ ip: '127.0.0.1' });
    eq(r.app_id, APP_ID, 'app_id');
    check(Array.isArray(r.stats) && r.stats.length > 0, 'stats must be a non-empty array');
    for (const e of r.stats) {
      eq(Object.keys(e).sort().join(','), STATS_KEYS.join(','), 'keys of a stats entry');
      check(MONTHS.includes(e.month), `month must be an English month name, got ${JSON.stringify(e.month)}`);
      check(Number.isInteger(e.year), 'year must be an integer');
    }
    const now = new Date();
    const cur = r.stats.find((e) => e.year === now.getUTCFullYear() && e.month === MONTHS[now.getUTCMonth()]);
    check(cur, 'no entry for the current month');
    check(cur.users_count >= 1 && cur.sms_count >= 1 && cur.calls_count >= 1, `counts should include this run: ${JSON.stringify(cur)}`);
  }],

  ['deleteUser', async () => {
    const r = await client.deleteUser({ authyId: S.user }, { ip: '127.0.0.1' });
    eq(r.success, true, 'success');
    check(['User was added to remove.', 'User removed from application'].includes(r.message), `message, got ${JSON.stringify(r.message)}`);
    await expectHttpError(client.getUserStatus({ authyId: S.user }), 404, '60026', 'User not found.', 'getUserStatus after delete');
  }],

  ['deleteUser.twice', async () => {
    await expectHttpError(client.deleteUser({ authyId: S.user }), 404, '60026', 'User not found.', 'deleteUser twice');
  }],

  // ---------------------------------------------------------------- sandbox

  ['sandbox.getApplicationDetails', async () => {
    const r = await sandbox.getApplicationDetails();
    eq(r.app.name, 'Sandbox App 1', 'app.name');
  }],

  ['sandbox.getUserStatus_51', async () => {
    const r = await sandbox.getUserStatus({ authyId: SANDBOX_USER });
    eq(r.status.authy_id, SANDBOX_USER, 'authy_id');
    eq(r.status.phone_number, 'XXX-XXX-2345', 'phone_number');
  }],

  ['sandbox.verifyToken_0000000', async () => {
    for (let i = 0; i < 2; i += 1) {
      const r = await sandbox.verifyToken({ authyId: SANDBOX_USER, token: '0000000' }, { force: true });
      eq(r.token, 'is valid', `token (try ${i + 1})`);
    }
    const r = await sandbox.verifyToken({ authyId: SANDBOX_USER, token: '0000000' });
    eq(r.token, 'is valid', 'token (no force)');
  }],

  ['sandbox.verifyToken_invalid', async () => {
    for (const token of ['1111111', '1234567', '123456']) {
      await expectHttpError(sandbox.verifyToken({ authyId: SANDBOX_USER, token }, { force: true }), 401, '60020', 'Token is invalid', `sandbox token ${token}`);
    }
  }],

  ['sandbox.registerUser_verify_delete', async () => {
    const r = await sandbox.registerUser({ countryCode: 'US', email: 'node-sandbox@example.com', phone: '775-461-5614' });
    const v = await sandbox.verifyToken({ authyId: r.user.id, token: '0000000' }, { force: true });
    eq(v.token, 'is valid', 'token');
    await sandbox.deleteUser({ authyId: r.user.id });
  }],

  ['sandbox.requestSms_requestCall_not_delivered', async () => {
    const before = messageCount();
    const s = await sandbox.requestSms({ authyId: SANDBOX_USER }, { force: true });
    eq(s.message, 'SMS token was sent', 'sms message');
    const c = await sandbox.requestCall({ authyId: SANDBOX_USER }, { force: true });
    eq(c.message, 'Call started...', 'call message');
    await sleep(500);
    eq(messageCount(), before, 'messages delivered by a sandbox app');
  }],

  ['sandbox.registerActivity', async () => {
    const r = await sandbox.registerActivity({ authyId: SANDBOX_USER, type: 'cookie_login' }, { ip: '127.0.0.1' });
    eq(r.success, true, 'success');
  }],

  ['sandbox.phoneVerification_0000', async () => {
    const before = messageCount();
    const r = await sandbox.startPhoneVerification({ countryCode: SANDBOX_PHONE.countryCode, phone: SANDBOX_PHONE.phone, via: 'sms' });
    eq(r.carrier, 'Google Voice', 'carrier');
    await expectHttpError(sandbox.verifyPhone({ countryCode: 'US', phone: SANDBOX_PHONE.phone, token: '1234' }), 401, '60022', 'Verification code is incorrect', 'sandbox wrong code');
    const v = await sandbox.verifyPhone({ countryCode: 'US', phone: SANDBOX_PHONE.phone, token: '0000' });
    eq(v.success, true, 'success');
    await sleep(300);
    eq(messageCount(), before, 'messages delivered by a sandbox app');
  }],

  ['sandbox.getPhoneInformation_landline', async () => {
    const r = await sandbox.getPhoneInformation({ countryCode: 'US', phone: SANDBOX_PHONE.phone });
    eq(r.type, 'landline', 'type');
    eq(r.ported, false, 'ported');
  }],

  ['sandbox.getApplicationStatistics', async () => {
    const r = await sandbox.getApplicationStatistics();
    check(Array.isArray(r.stats), 'stats');
  }],

  // ---------------------------------------------------------------- restricted app
  // (status 403 for 60006/60007 is the spec's recommendation, §4)

  ['restricted.getApplicationDetails', async () => {
    const r = await restricted.getApplicationDetails();
    eq(r.app.sms_enabled, false, 'app.sms_enabled');
    eq(r.app.phone_calls_enabled, false, 'app.phone_calls_enabled');
  }],

  ['restricted.requestSms_requestCall_disabled', async () => {
    const r = await restricted.registerUser({ countryCode: 'US', email: 'node-restricted@example.com', phone: '775-461-5615' });
    await expectHttpError(restricted.requestSms({ authyId: r.user.id }, { force: true }), 403, '60007', 'SMS is not enabled', 'requestSms with SMS off');
    await expectHttpError(restricted.requestCall({ authyId: r.user.id }, { force: true }), 403, '60006', 'Phone calls are not enabled on this account', 'requestCall with calls off');
    await expectHttpError(restricted.startPhoneVerification({ countryCode: 'US', phone: '775-461-5615', via: 'call' }), 403, '60006', 'Phone calls are not enabled on this account', 'startPhoneVerification via call with calls off');
    await restricted.deleteUser({ authyId: r.user.id });
  }],
];

async function main() {
  for (const [name, fn] of cases) {
    // eslint-disable-next-line no-await-in-loop
    await runCase(name, fn);
  }
  notCovered('createApprovalRequest', 'OneTouch (/onetouch/...) is not implemented by the server');
  notCovered('getApprovalRequest', 'OneTouch (/onetouch/...) is not implemented by the server');
  notCovered('verifyCallback', 'client-side only (no request); OneTouch callbacks are not implemented by the server');
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.log(`FAIL driver: ${describe(e)}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exitCode = 1;
});
