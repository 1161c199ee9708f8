<?php
/**
 * Renders a module's Smarty template with real Smarty 3.1, the major version
 * that WHMCS 8 ships, and reports in JSON.
 *
 *   php render.php TEMPLATE_FILE < {"vars": {...}}
 *
 * Prints {"html", "warnings"}: the page, and every PHP warning or notice
 * raised while rendering it. SMARTY_DIR names Smarty's directory (default:
 * Debian's smarty3 package).
 */

$smartyDir = getenv('SMARTY_DIR') ?: '/usr/share/php/smarty3/';
require rtrim($smartyDir, '/') . '/Smarty.class.php';

$request = json_decode((string) stream_get_contents(STDIN), true);
if (!is_array($request) || !isset($argv[1])) {
    fwrite(STDERR, "usage: php render.php TEMPLATE_FILE < request.json\n");
    exit(2);
}

// Smarty 3.1, and the code it compiles, raise deprecations on PHP 8.2 that no
// template can avoid; warnings and notices (an unknown variable) still count.
$warnings = [];
set_error_handler(function ($severity, $message, $file, $line) use (&$warnings) {
    if (!($severity & (E_DEPRECATED | E_USER_DEPRECATED))) {
        $warnings[] = $message . ' at ' . $file . ':' . $line;
    }
    return true;
});

$compileDir = sys_get_temp_dir() . '/hostmgr-smarty-' . getmypid();
$smarty = new Smarty();
$smarty->setTemplateDir(dirname($argv[1]));
$smarty->setCompileDir($compileDir);
$smarty->setCacheDir($compileDir);
$smarty->assign($request['vars'] ?? []);
$html = $smarty->fetch(basename($argv[1]));

foreach (glob($compileDir . '/*') ?: [] as $compiled) {
    unlink($compiled);
}
rmdir($compileDir);

echo json_encode(['html' => $html, 'warnings' => $warnings], JSON_UNESCAPED_SLASHES);
