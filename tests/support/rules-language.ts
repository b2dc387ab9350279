// A small evaluator for the subset of Cloudflare's Rules language the program's rules use, so tests can ask what
// a rule matches instead of comparing its text. Filters: fields, string literals, eq/ne/in, not/and/or,
// parentheses and starts_with(field, "literal") (all available on every plan). Redirect targets:
// wildcard_replace(field, "pattern", "replacement"[, "s"]) as ruleset-engine/rules-language/functions documents
// it (the whole value must match, `*` lazily, `${n}` captures, case-insensitive unless "s"). Anything outside
// that subset throws, so a rule written with other constructs fails the tests instead of slipping through them.

export type Request = { host: string; method: string; path: string };
export type Node =
  | { kind: "and" | "or"; left: Node; right: Node }
  | { kind: "not"; operand: Node }
  | { kind: "eq" | "ne"; field: string; value: string }
  | { kind: "in"; field: string; values: string[] }
  | { kind: "starts_with"; field: string; value: string };

const FIELDS = ["http.host", "http.request.method", "http.request.uri.path"];

function tokenize(expr: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(?:("(?:[^"\\]|\\.)*")|([(){},])|([A-Za-z_][A-Za-z0-9_.]*))/y;
  let at = 0;
  while (at < expr.length) {
    if (/^\s*$/.test(expr.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(expr);
    if (!m) throw new Error(`cannot read expression at ${at}: ${expr.slice(at)}`);
    tokens.push(m[1] ?? m[2] ?? m[3]);
    at = re.lastIndex;
  }
  return tokens;
}

/** A cursor over an expression's tokens. */
function reader(expr: string) {
  const tokens = tokenize(expr);
  let i = 0;
  const r = {
    next: () => tokens[i++],
    peek: () => tokens[i],
    done: () => i === tokens.length,
    expect(t: string) {
      const got = r.next();
      if (got !== t) throw new Error(`expected ${t}, got ${got} in ${expr}`);
    },
    literal(): string {
      const t = r.next();
      if (!t?.startsWith('"')) throw new Error(`expected a string, got ${t} in ${expr}`);
      return JSON.parse(t) as string;
    },
    field(): string {
      const t = r.next();
      if (!FIELDS.includes(t)) throw new Error(`unsupported field or token ${t} in ${expr}`);
      return t;
    },
  };
  return r;
}

export function parse(expr: string): Node {
  const r = reader(expr);
  function primary(): Node {
    const t = r.peek();
    if (t === "not") {
      r.next();
      return { kind: "not", operand: primary() };
    }
    if (t === "starts_with") {
      r.next();
      r.expect("(");
      const field = r.field();
      r.expect(",");
      const value = r.literal();
      r.expect(")");
      return { kind: "starts_with", field, value };
    }
    if (t === "(") {
      r.next();
      const inner = disjunction();
      r.expect(")");
      return inner;
    }
    const field = r.field();
    const op = r.next();
    if (op === "eq" || op === "ne") return { kind: op, field, value: r.literal() };
    if (op === "in") {
      r.expect("{");
      const values: string[] = [];
      while (r.peek() !== "}") values.push(r.literal());
      r.expect("}");
      return { kind: "in", field, values };
    }
    throw new Error(`unsupported operator ${op} in ${expr}`);
  }
  function conjunction(): Node {
    let node = primary();
    while (r.peek() === "and") {
      r.next();
      node = { kind: "and", left: node, right: primary() };
    }
    return node;
  }
  function disjunction(): Node {
    let node = conjunction();
    while (r.peek() === "or") {
      r.next();
      node = { kind: "or", left: node, right: conjunction() };
    }
    return node;
  }
  const tree = disjunction();
  if (!r.done()) throw new Error(`trailing tokens in ${expr}`);
  return tree;
}

function fieldOf(name: string, req: Request): string {
  return name === "http.host" ? req.host : name === "http.request.method" ? req.method : req.path;
}

export function evaluate(node: Node, req: Request): boolean {
  switch (node.kind) {
    case "and":
      return evaluate(node.left, req) && evaluate(node.right, req);
    case "or":
      return evaluate(node.left, req) || evaluate(node.right, req);
    case "not":
      return !evaluate(node.operand, req);
    case "eq":
      return fieldOf(node.field, req) === node.value;
    case "ne":
      return fieldOf(node.field, req) !== node.value;
    case "in":
      return node.values.includes(fieldOf(node.field, req));
    case "starts_with":
      return fieldOf(node.field, req).startsWith(node.value);
  }
}

/** Whether `expr` (a filter) matches `req`. */
export function matches(expr: string, req: Request): boolean {
  return evaluate(parse(expr), req);
}

/** The top-level `and` operands of a parsed expression. */
export function conjuncts(node: Node): Node[] {
  return node.kind === "and" ? [...conjuncts(node.left), ...conjuncts(node.right)] : [node];
}

/**
 * The value of a redirect's target URL expression for `req`: only `wildcard_replace(field, pattern, replacement
 * [, flags])` is understood. Per the functions reference: the whole field must match the pattern, each `*` takes
 * the shortest match, `\*` and `\\` are literal, `**` is invalid, `$$` is a literal `$`, `${n}` (n ≤ 8) the n-th
 * capture; without flag "s" the match ignores case; no match returns the field unchanged.
 */
export function evaluateTarget(expr: string, req: Request): string {
  const r = reader(expr);
  if (r.next() !== "wildcard_replace") throw new Error(`unsupported target expression ${expr}`);
  r.expect("(");
  const source = fieldOf(r.field(), req);
  r.expect(",");
  const pattern = r.literal();
  r.expect(",");
  const replacement = r.literal();
  let flags = "";
  if (r.peek() === ",") {
    r.next();
    flags = r.literal();
  }
  r.expect(")");
  if (!r.done()) throw new Error(`trailing tokens in ${expr}`);
  if (/(^|[^\\])\*\*/.test(pattern)) throw new Error(`"**" is invalid in ${pattern}`);
  const regexText = pattern
    .split(/(\\\*|\\\\|\*)/)
    .map((part) =>
      part === "*"
        ? "(.*?)"
        : part === "\\*"
          ? "\\*"
          : part === "\\\\"
            ? "\\\\"
            : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("");
  const m = new RegExp(`^${regexText}$`, flags.includes("s") ? "s" : "is").exec(source);
  if (!m) return source;
  return replacement.replace(/\$\$|\$\{([1-8])\}/g, (whole, n: string | undefined) =>
    whole === "$$" ? "$" : (m[Number(n)] ?? ""),
  );
}
