<?php
/**
 * Finds syntax and functions newer than PHP 7.4 in PHP files.
 *
 *   php check_php74.php FILE...
 *
 * Parses with nikic/php-parser (Debian's php-parser; PHP_PARSER_AUTOLOAD names
 * another autoload.php) and prints one line per finding; exits 1 when any.
 * php-cli here is 8.x, so `php -l` alone would accept all of these.
 */

require getenv('PHP_PARSER_AUTOLOAD') ?: '/usr/share/php/PhpParser/autoload.php';

use PhpParser\Node;
use PhpParser\NodeTraverser;
use PhpParser\NodeVisitorAbstract;

const PHP8_FUNCTIONS = [
    'str_contains', 'str_starts_with', 'str_ends_with', 'get_debug_type', 'fdiv',
    'get_resource_id', 'preg_last_error_msg', 'array_is_list', 'enum_exists',
];
const PHP8_TYPES = ['mixed', 'never', 'static', 'false', 'null', 'true'];

class NewerThan74 extends NodeVisitorAbstract
{
    /** @var string[] */
    public $findings = [];

    /** @var array<int, mixed> */
    private $tokens;

    public function __construct(array $tokens)
    {
        $this->tokens = $tokens;
    }

    public function enterNode(Node $node)
    {
        $line = $node->getStartLine();
        $found = function (string $what) use ($line) {
            $this->findings[] = 'line ' . $line . ': ' . $what;
        };
        if ($node instanceof Node\Expr\Match_) {
            $found('match');
        }
        if ($node instanceof Node\Expr\NullsafeMethodCall || $node instanceof Node\Expr\NullsafePropertyFetch) {
            $found('nullsafe operator');
        }
        if ($node instanceof Node\UnionType || $node instanceof Node\IntersectionType) {
            $found('union or intersection type');
        }
        if ($node instanceof Node\Arg && $node->name !== null) {
            $found('named argument');
        }
        if ($node instanceof Node\VariadicPlaceholder) {
            $found('first-class callable syntax');
        }
        if ($node instanceof Node\Param && $node->flags !== 0) {
            $found('constructor property promotion');
        }
        if ($node instanceof Node\Expr\Throw_) {
            $found('throw as an expression');
        }
        if ($node instanceof Node\Stmt\Catch_ && $node->var === null) {
            $found('catch without a variable');
        }
        if (property_exists($node, 'attrGroups') && !empty($node->attrGroups)) {
            $found('attribute');
        }
        if ($node instanceof Node\Stmt\Enum_) {
            $found('enum');
        }
        if ($node instanceof Node\Stmt\Property && ($node->flags & Node\Stmt\Class_::MODIFIER_READONLY)) {
            $found('readonly property');
        }
        if ($node instanceof Node\Expr\FuncCall && $node->name instanceof Node\Name
            && in_array(strtolower($node->name->getLast()), PHP8_FUNCTIONS, true)) {
            $found('function ' . $node->name->getLast() . '()');
        }
        if ($node instanceof Node\Expr\ClassConstFetch && !($node->class instanceof Node\Name)
            && $node->name instanceof Node\Identifier && strtolower($node->name->name) === 'class') {
            $found('::class on an object');
        }
        if ($node instanceof Node\Param && $node->default instanceof Node\Expr\New_) {
            $found('new in an initializer');
        }
        if ($node instanceof Node\FunctionLike) {
            $this->checkSignature($node, $found);
        }
        if ($node instanceof Node\Stmt\Property || $node instanceof Node\Param) {
            $this->checkType($node->type, $found);
        }
        return null;
    }

    private function checkSignature(Node\FunctionLike $node, callable $found): void
    {
        $this->checkType($node->getReturnType(), $found);
        $params = $node->getParams();
        if ($params && $this->isFollowedByComma(end($params))) {
            $found('trailing comma in a parameter list');
        }
        if ($node instanceof Node\Expr\Closure && $node->uses && $this->isFollowedByComma(end($node->uses))) {
            $found('trailing comma in a closure\'s use list');
        }
    }

    /**
     * @param Node|string|null $type
     */
    private function checkType($type, callable $found): void
    {
        if ($type instanceof Node\NullableType) {
            $type = $type->type;
        }
        // php-parser 4 reads a "static" type as a class name.
        if ($type instanceof Node\Identifier || $type instanceof Node\Name) {
            $name = strtolower($type instanceof Node\Name ? $type->toString() : $type->name);
            if (in_array($name, PHP8_TYPES, true)) {
                $found('type ' . $name);
            }
        }
    }

    private function isFollowedByComma(Node $node): bool
    {
        for ($i = $node->getEndTokenPos() + 1; $i < count($this->tokens); $i++) {
            $token = $this->tokens[$i];
            if (is_array($token) && in_array($token[0], [T_WHITESPACE, T_COMMENT, T_DOC_COMMENT], true)) {
                continue;
            }
            return $token === ',';
        }
        return false;
    }
}

$failed = false;
foreach (array_slice($argv, 1) as $file) {
    $lexer = new PhpParser\Lexer\Emulative([
        'usedAttributes' => ['startLine', 'endLine', 'startTokenPos', 'endTokenPos'],
    ]);
    $parser = (new PhpParser\ParserFactory())->create(PhpParser\ParserFactory::PREFER_PHP7, $lexer);
    $ast = $parser->parse((string) file_get_contents($file));
    $visitor = new NewerThan74($lexer->getTokens());
    $traverser = new NodeTraverser();
    $traverser->addVisitor($visitor);
    $traverser->traverse($ast);
    foreach ($visitor->findings as $finding) {
        echo $file . ' ' . $finding . "\n";
        $failed = true;
    }
}
exit($failed ? 1 : 0);
