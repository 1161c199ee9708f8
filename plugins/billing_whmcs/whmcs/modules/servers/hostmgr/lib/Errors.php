<?php
/**
 * The errors of the hostmgr module.
 *
 * ModuleError          something a WHMCS admin must fix; its message says what
 * ├── NotProvisioned   the service's instance or reseller is not in hostmgr
 * └── ApiError         hostmgr answered with an error, or could not be reached
 *
 * Every message is meant to be shown to a WHMCS admin as it is, and never holds
 * a token or a password.
 */

namespace WHMCS\Module\Server\Hostmgr;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

class ModuleError extends \RuntimeException
{
}

class NotProvisioned extends ModuleError
{
}

class ApiError extends ModuleError
{
    /** @var int the HTTP status, 0 when no answer came */
    private $httpStatus;

    /** @var array<string, string[]> hostmgr's per-field messages (422 only) */
    private $fieldErrors;

    /**
     * @param array<string, string[]> $fieldErrors
     */
    public function __construct(string $message, int $httpStatus = 0, array $fieldErrors = [])
    {
        parent::__construct($message, $httpStatus);
        $this->httpStatus = $httpStatus;
        $this->fieldErrors = $fieldErrors;
    }

    public function getHttpStatus(): int
    {
        return $this->httpStatus;
    }

    /**
     * @return array<string, string[]>
     */
    public function getFieldErrors(): array
    {
        return $this->fieldErrors;
    }

    /** True when hostmgr refused $field (422) because another record already has it. */
    public function isTaken(string $field): bool
    {
        foreach ($this->fieldErrors[$field] ?? [] as $message) {
            if (stripos((string) $message, 'taken') !== false) {
                return true;
            }
        }
        return false;
    }
}
