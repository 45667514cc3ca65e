const SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * A segment must be base64url spelt the one way an encoder writes it: unused trailing bits
 * set differently give the same bytes, and would let one token be sent in many spellings.
 */
function isCanonicalSegment(segment: string): boolean {
  return (
    SEGMENT.test(segment) && Buffer.from(segment, "base64url").toString("base64url") === segment
  );
}

/**
 * Rejects, without any cryptography, a token that cannot be a Cognito access token: not three
 * canonical base64url segments, a header that is not a JSON object, an `alg` other than
 * RS256, or no `kid`. Returns `true` when the token is worth handing to the verifier.
 */
export function looksLikeCognitoJwt(token: string): boolean {
  const firstDot = token.indexOf(".");
  const secondDot = token.indexOf(".", firstDot + 1);
  if (firstDot <= 0 || secondDot < 0 || token.indexOf(".", secondDot + 1) !== -1) return false;

  const header = token.slice(0, firstDot);
  if (!isCanonicalSegment(header)) return false;
  if (!isCanonicalSegment(token.slice(firstDot + 1, secondDot))) return false;
  if (!isCanonicalSegment(token.slice(secondDot + 1))) return false;

  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
  } catch {
    return false;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return false;

  const { alg, kid } = parsed as { alg?: unknown; kid?: unknown };
  return alg === "RS256" && typeof kid === "string" && kid.length > 0;
}
