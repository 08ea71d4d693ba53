// A real OpenID Connect provider for the tests (node oidc-provider), on 127.0.0.1 only.
//
//   PORT=9000 CLIENT_ID=hobbies CLIENT_SECRET=... \
//   REDIRECT_URIS=http://127.0.0.1:8001/oidc/callback/ POST_LOGOUT_REDIRECT_URIS=http://127.0.0.1:8001/ \
//   node tests/oidc/provider.js
//
// One confidential client; the development login and consent screens (any password is accepted
// for the accounts below); RP-initiated logout. Cookie names differ from the app's, because
// cookies ignore ports and both sides run on 127.0.0.1.
import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const list = (name) => env(name).split(',').map((item) => item.trim()).filter(Boolean);

const port = Number(env('PORT'));
const issuer = `http://127.0.0.1:${port}`;

// Test people. "sub" is the login typed on the provider's sign-in screen.
const ACCOUNTS = {
  alice: {
    preferred_username: 'alice', email: 'alice@example.org', email_verified: true,
    name: 'Alice Liddell', given_name: 'Alice', family_name: 'Liddell', groups: ['hobbies-admins'],
  },
  bob: {
    preferred_username: 'bob', email: 'bob@example.org', email_verified: true,
    name: 'Bob Builder', given_name: 'Bob', family_name: 'Builder', groups: ['knitters'],
  },
  carol: {
    preferred_username: 'carol', email: 'carol@example.org', email_verified: true,
    name: 'Carol Singer', groups: [],
  },
};

const page = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1>${body}</body></html>`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('CLIENT_ID'),
    client_secret: env('CLIENT_SECRET'),
    redirect_uris: list('REDIRECT_URIS'),
    post_logout_redirect_uris: list('POST_LOGOUT_REDIRECT_URIS'),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  async findAccount(ctx, id) {
    const claims = ACCOUNTS[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  cookies: {
    names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_interaction_resume' },
    keys: ['hobbies-test-provider-cookie-key'],
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // The default pages load web fonts from the internet; the tests stay on loopback.
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out', `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You are signed out.</p>');
      },
    },
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
