/** Accepts OTLP/HTTP exports and drops them: the collector a traced benchmark exports to. */
import http from 'node:http';

let spans = 0;
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    spans += 1;
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' }).end();
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`PORT ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  process.stderr.write(`otlp sink: ${spans} exports received\n`);
  process.exit(0);
});
