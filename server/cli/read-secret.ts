/**
 * Reading a secret without putting it on the command line, where `ps`, /proc and the
 * shell's history would show it to everyone on the host.
 */

/** All of stdin, less one trailing newline (as `echo … |` and here-strings add one). */
export async function readSecretFromStdin(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * Asks on the terminal with echo off (the prompt goes to stderr, so stdout stays the
 * command's result). Ctrl-C exits 130; Ctrl-D ends the line.
 */
export async function promptSecret(question: string, stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve) => {
      let typed = '';
      const onData = (data: string) => {
        for (const ch of data) {
          if (ch === '\u0003') {
            process.stderr.write('\n');
            process.exit(130);
          } else if (ch === '\r' || ch === '\n' || ch === '\u0004') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            resolve(typed);
            return;
          } else if (ch === '\u007f' || ch === '\b') {
            typed = [...typed].slice(0, -1).join('');
          } else {
            typed += ch;
          }
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}
