<?php
/**
 * Calls one function of a WHMCS module, as WHMCS would, and reports in JSON.
 *
 *   php run.php MODULE_FILE < {"function": "hostmgr_CreateAccount", "args": [{...}],
 *                             "localapi_answer": null}
 *
 * Prints {"result", "exception", "output", "warnings", "log", "localapi", "db"}:
 * the function's return value, an exception that escaped it, anything it
 * printed, every PHP warning, notice or deprecation it raised, and what the
 * WHMCS stand-ins in bootstrap.php recorded.
 */

require __DIR__ . '/bootstrap.php';

$request = json_decode((string) stream_get_contents(STDIN), true);
if (!is_array($request) || !isset($request['function'], $argv[1])) {
    fwrite(STDERR, "usage: php run.php MODULE_FILE < request.json\n");
    exit(2);
}
$GLOBALS['whmcs_stub']['localapi_answer'] = $request['localapi_answer'] ?? null;

$warnings = [];
set_error_handler(function ($severity, $message, $file, $line) use (&$warnings) {
    $warnings[] = $message . ' at ' . $file . ':' . $line;
    return true;
});

require_once $argv[1];

$result = null;
$exception = null;
ob_start();
try {
    $result = call_user_func_array($request['function'], $request['args'] ?? []);
} catch (Throwable $error) {
    $exception = get_class($error) . ': ' . $error->getMessage();
}
$output = ob_get_clean();

echo json_encode([
    'result' => $result,
    'exception' => $exception,
    'output' => $output,
    'warnings' => $warnings,
    'log' => $GLOBALS['whmcs_stub']['log'],
    'localapi' => $GLOBALS['whmcs_stub']['localapi'],
    'db' => $GLOBALS['whmcs_stub']['db'],
], JSON_UNESCAPED_SLASHES | JSON_PARTIAL_OUTPUT_ON_ERROR);
