#!/usr/bin/env node
// The repository's shortcut to the CLI of the @tserve/server workspace (packages/server), so that `node bin/tserve.js`
// works from a checkout as the examples show; installed users run `npx tserve` instead.
import "../packages/server/bin/tserve.js";
