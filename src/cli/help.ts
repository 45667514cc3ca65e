import { CLIENT_SECRET_ENV } from "./token-command.js";

/** The program name, as installed by the package's `bin`. */
export const PROGRAM = "trpc-cognito-m2m";

/** Help for the whole program. */
export const MAIN_HELP = `Usage: ${PROGRAM} <command> [options]

Commands:
  token    Fetch an access token with the OAuth2 client-credentials grant
  verify   Verify an access token as a trpc-cognito-m2m server would
  help     Show this help, or a command's help: ${PROGRAM} help <command>

Run "${PROGRAM} <command> --help" for a command's flags.

Exit status: 0 success, 1 token request or verification failed, 2 usage error.
`;

/** Help for `token`. */
export const TOKEN_HELP = `Usage: ${PROGRAM} token --token-url URL --client-id ID [options]

Fetches an access token from a Cognito token endpoint (client-credentials grant) and prints
it alone on stdout, so TOKEN="$(${PROGRAM} token ...)" works.

Options:
  --token-url URL        The token endpoint, https://<domain>/oauth2/token (plain http is
                         accepted for loopback hosts only)
  --client-id ID         The app client id
  --client-secret S      The app client secret. Prefer the ${CLIENT_SECRET_ENV}
                         environment variable: a flag ends up in shell history and is visible
                         to other users in the process list
  --scope SCOPE          A scope to request; repeat for more (default: all the client's)
  --json                 Print {"access_token", "expires_in", "scopes"} instead; "scopes" are
                         those in the token's scope claim
  -h, --help             Show this help

Errors go to stderr as "error: <code> (<status>): <description>", or as JSON with --json.
The client secret is never printed.
`;

/** Help for `verify`. */
export const VERIFY_HELP = `Usage: ${PROGRAM} verify <token | -> --user-pool-id POOL [options]

Verifies a Cognito access token with aws-jwt-verify against the pool's issuer and signing
keys, and prints the client id, scopes, sub, expiry and issuer. Pass - to read the token from
stdin, which keeps it out of shell history and the process list.

Options:
  --user-pool-id POOL    The user pool id, e.g. eu-west-1_AbC123 (required)
  --client-id ID         Accept only tokens of this client; repeat to allow several
  --scope SCOPE          Require this scope; repeat to require several
  --jwks-uri URL         Fetch the pool's signing keys from URL instead of Cognito, e.g. a
                         local issuer in tests (plain http for loopback hosts only)
  --json                 Print the principal as JSON
  -h, --help             Show this help

On failure prints the error code (invalid_token, expired_token, client_not_allowed,
insufficient_scope, jwks_unavailable, ...) and the verifier's reason to stderr. The token
itself is never printed.
`;
