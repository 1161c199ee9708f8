<?php
/**
 * Stand-ins for the three WHMCS globals the hostmgr module calls.
 *
 * WHMCS itself cannot run here: it is licensed software that needs its own web
 * server and database. So these few globals are stand-ins, and nothing else is:
 * the module under test is the real one, talking HTTP to a real hostmgr.
 *
 * - logModuleCall() records its arguments as given, without masking anything,
 *   so a test sees exactly what the module would hand WHMCS's module log;
 * - localAPI() records each command and answers success (or the answer the
 *   request asks for);
 * - WHMCS\Database\Capsule::table()->where()->update() records each update.
 *
 * What they recorded is in $GLOBALS['whmcs_stub'].
 */

namespace WHMCS\Database {

    class Capsule
    {
        public static function table(string $table): StubQuery
        {
            return new StubQuery($table);
        }
    }

    class StubQuery
    {
        /** @var string */
        private $table;

        /** @var array<string, mixed> */
        private $wheres = [];

        public function __construct(string $table)
        {
            $this->table = $table;
        }

        /**
         * Only the two-argument form (column equals value) that the module uses.
         *
         * @param mixed $value
         */
        public function where(string $column, $value): self
        {
            $this->wheres[$column] = $value;
            return $this;
        }

        /**
         * @param array<string, mixed> $values
         */
        public function update(array $values): int
        {
            $GLOBALS['whmcs_stub']['db'][] = [
                'table' => $this->table,
                'where' => $this->wheres,
                'values' => $values,
            ];
            return 1;
        }
    }
}

namespace {

    define('WHMCS', true);

    $GLOBALS['whmcs_stub'] = ['log' => [], 'localapi' => [], 'db' => [], 'localapi_answer' => null];

    /**
     * @param mixed $request
     * @param mixed $response
     * @param mixed $processed
     * @param string[] $replaceVars
     */
    function logModuleCall($module, $action, $request, $response, $processed = '', $replaceVars = [])
    {
        $GLOBALS['whmcs_stub']['log'][] = [
            'module' => $module,
            'action' => $action,
            'request' => $request,
            'response' => $response,
            'processed' => $processed,
            'replace_vars' => $replaceVars,
        ];
    }

    /**
     * @param array<string, mixed> $values
     * @return array<string, mixed>
     */
    function localAPI($command, $values = [], $adminUser = '')
    {
        $GLOBALS['whmcs_stub']['localapi'][] = ['command' => $command, 'values' => $values];
        $answer = $GLOBALS['whmcs_stub']['localapi_answer'];
        if (is_array($answer)) {
            return $answer;
        }
        return ['result' => 'success', 'serviceid' => $values['serviceid'] ?? null];
    }
}
