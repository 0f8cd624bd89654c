// What an editor shows for a stack file: runs yaml-language-server (stdio) with
// schemas/stack.schema.json, asks for completion inside `groups.web.rollout` and for a
// hover over `rollout`, and prints both as JSON on stdout.
// Usage: node scripts/yaml-ls-check.cjs PATH_TO_YAML_LANGUAGE_SERVER_PACKAGE
const { spawn } = require("node:child_process");
const path = require("node:path");
const { pathToFileURL } = require("node:url");

const root = path.resolve(__dirname, "..");
const server = path.resolve(process.argv[2], "bin", "yaml-language-server");
const schema = pathToFileURL(path.join(root, "schemas", "stack.schema.json")).href;
const uri = pathToFileURL(path.join(root, "stacks", "editor-check.yaml")).href;
const text = [
  `# yaml-language-server: $schema=${schema}`,
  "rollstack: 1",
  "stack: demo",
  "region: us-east-1",
  "groups:",
  "  web:",
  "    roles: [web]",
  "    count: 2",
  "    image: ami-0abc1234",
  "    instance_type: t3.micro",
  "    rollout:",
  "      ",
  "",
].join("\n");

const child = spawn(process.execPath, [server, "--stdio"], { stdio: ["pipe", "pipe", "inherit"] });
let buffer = Buffer.alloc(0);
let nextId = 1;
const pending = new Map();

function send(message) {
  const body = Buffer.from(JSON.stringify({ jsonrpc: "2.0", ...message }));
  child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
  child.stdin.write(body);
}

function request(method, params) {
  const id = nextId++;
  send({ id, method, params });
  return new Promise((resolve) => pending.set(id, resolve));
}

child.stdout.on("data", (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf("\r\n\r\n");
    if (end < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffer.slice(0, end).toString())[1]);
    if (buffer.length < end + 4 + length) return;
    const message = JSON.parse(buffer.slice(end + 4, end + 4 + length).toString());
    buffer = buffer.slice(end + 4 + length);
    if (message.id !== undefined && pending.has(message.id)) {
      pending.get(message.id)(message.result);
      pending.delete(message.id);
    } else if (message.id !== undefined && message.method) {
      // workspace/configuration and the like: answer with the settings.
      send({ id: message.id, result: (message.params.items || []).map(() => settings.yaml) });
    }
  }
});

const settings = {
  yaml: { schemas: { [schema]: "*.yaml" }, completion: true, hover: true, validate: true },
};

async function main() {
  await request("initialize", {
    processId: process.pid,
    rootUri: pathToFileURL(root).href,
    capabilities: {
      textDocument: {
        completion: { completionItem: { documentationFormat: ["markdown", "plaintext"] } },
        hover: { contentFormat: ["markdown", "plaintext"] },
      },
      workspace: { configuration: true },
    },
  });
  send({ method: "initialized", params: {} });
  send({ method: "workspace/didChangeConfiguration", params: { settings } });
  send({
    method: "textDocument/didOpen",
    params: { textDocument: { uri, languageId: "yaml", version: 1, text } },
  });
  const completion = await request("textDocument/completion", {
    textDocument: { uri },
    position: { line: 11, character: 6 },
  });
  const hovers = {};
  for (const [key, line] of [["rollout", 10], ["count", 7], ["image", 8], ["stack", 2], ["groups", 4]]) {
    const hover = await request("textDocument/hover", {
      textDocument: { uri },
      position: { line, character: line === 2 || line === 4 ? 1 : 5 },
    });
    hovers[key] = hover?.contents?.value ?? hover?.contents ?? "";
  }
  const items = (completion.items || completion).map((item) => ({
    label: item.label,
    documentation:
      typeof item.documentation === "string" ? item.documentation : item.documentation?.value || "",
  }));
  console.log(JSON.stringify({ items, hovers }, null, 2));
  child.kill();
  process.exit(0);
}

setTimeout(() => {
  console.error("yaml-language-server did not answer in 60 s");
  child.kill();
  process.exit(2);
}, 60000).unref();

main().catch((e) => {
  console.error(e);
  child.kill();
  process.exit(2);
});
