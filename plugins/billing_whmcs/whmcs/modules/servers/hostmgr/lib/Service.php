<?php
/**
 * One WHMCS service as hostmgr sees it: what it provisions, under which names.
 *
 * The product's module settings are configoption1 (package), configoption2
 * (n8n version) and configoption3 (account type), in the order of
 * hostmgr_ConfigOptions().
 */

namespace WHMCS\Module\Server\Hostmgr;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

class Service
{
    const INSTANCE = 'instance';
    const RESELLER = 'reseller';
    /** hostmgr's rule for instance names: alpha-dash, 3 to 63 characters. */
    const NAME_PATTERN = '/^[A-Za-z0-9][A-Za-z0-9_-]{1,61}[A-Za-z0-9]$/';
    /** hostmgr's rule for usernames. */
    const USERNAME_PATTERN = '/^[a-z0-9][a-z0-9_.-]{1,62}[a-z0-9]$/';

    /** @var array<string, mixed> */
    private $params;

    /**
     * @param array<string, mixed> $params WHMCS's module parameters
     */
    public function __construct(array $params)
    {
        $this->params = $params;
    }

    public function id(): int
    {
        return (int) ($this->params['serviceid'] ?? 0);
    }

    public function accountType(): string
    {
        $type = strtolower(trim((string) ($this->params['configoption3'] ?? '')));
        if ($type === '') {
            $isResellerProduct = ($this->params['producttype'] ?? '') === 'reselleraccount';
            return $isResellerProduct ? self::RESELLER : self::INSTANCE;
        }
        if (!in_array($type, [self::INSTANCE, self::RESELLER], true)) {
            throw new ModuleError(
                'The product\'s account type "' . $type . '" is neither "instance" nor '
                . '"reseller": fix it in the product\'s Module Settings'
            );
        }
        return $type;
    }

    public function isReseller(): bool
    {
        return $this->accountType() === self::RESELLER;
    }

    public function package(): string
    {
        $package = trim((string) ($this->params['configoption1'] ?? ''));
        if ($package === '') {
            throw new ModuleError(
                'The product has no hostmgr package: pick one in the product\'s Module Settings'
            );
        }
        return $package;
    }

    public function version(): string
    {
        $version = trim((string) ($this->params['configoption2'] ?? ''));
        return $version === '' ? 'latest' : $version;
    }

    /**
     * The instance's name: the service's username or domain when hostmgr would
     * take it as a name, else n8n-<service id>. The same service always gets the
     * same name, so a retried create finds the instance it made before.
     */
    public function instanceName(): string
    {
        foreach (['username', 'domain'] as $field) {
            $candidate = trim((string) ($this->params[$field] ?? ''));
            if (preg_match(self::NAME_PATTERN, $candidate)) {
                return $candidate;
            }
        }
        return 'n8n-' . $this->requireId();
    }

    /** True when $name is the one the module derives from this service's id. */
    public function isOwnName(string $name): bool
    {
        return $name === 'n8n-' . $this->id();
    }

    /** True when WHMCS already keeps $domain as this service's domain. */
    public function hasDomain(string $domain): bool
    {
        $kept = trim((string) ($this->params['domain'] ?? ''));
        return $kept !== '' && strcasecmp($kept, $domain) === 0;
    }

    /** The reseller's hostmgr username: the service's, or reseller-<service id>. */
    public function resellerUsername(): string
    {
        $username = strtolower(trim((string) ($this->params['username'] ?? '')));
        if (preg_match(self::USERNAME_PATTERN, $username)) {
            return $username;
        }
        return 'reseller-' . $this->requireId();
    }

    public function clientEmail(): string
    {
        $email = trim((string) ($this->params['clientsdetails']['email'] ?? ''));
        if ($email === '') {
            throw new ModuleError('The client of this service has no email address');
        }
        return $email;
    }

    public function clientName(): string
    {
        $client = $this->params['clientsdetails'] ?? [];
        $name = trim((string) ($client['fullname'] ?? ''));
        if ($name === '') {
            $name = trim(($client['firstname'] ?? '') . ' ' . ($client['lastname'] ?? ''));
        }
        if ($name === '') {
            $name = trim((string) ($client['companyname'] ?? ''));
        }
        return $name === '' ? $this->clientEmail() : $name;
    }

    /** The service's password, which becomes the client's panel password. */
    public function password(): string
    {
        $password = (string) ($this->params['password'] ?? '');
        if ($password === '') {
            throw new ModuleError(
                'The service has no password: set one on the service (at least 8 characters)'
            );
        }
        return $password;
    }

    /**
     * Values that must never reach a log: the service and server passwords.
     *
     * @return string[]
     */
    public function secrets(): array
    {
        $secrets = [];
        foreach (['password', 'serverpassword', 'serveraccesshash'] as $field) {
            $value = (string) ($this->params[$field] ?? '');
            if ($value !== '') {
                $secrets[] = $value;
            }
        }
        return $secrets;
    }

    /** The link that has WHMCS call hostmgr_ServiceSingleSignOn for this service. */
    public function singleSignOnLink(): string
    {
        return 'clientarea.php?action=productdetails&id=' . $this->id() . '&dosinglesignon=1';
    }

    private function requireId(): int
    {
        $id = $this->id();
        if ($id <= 0) {
            throw new ModuleError('WHMCS passed no service id to the module');
        }
        return $id;
    }
}
