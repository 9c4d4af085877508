<?php
// The PHP-FPM peer of bench/run: GET /api/hello and GET /api/protected (HS256 bearer).
// The token check matches the C responder's: signature, alg, exp and nbf only. No log.
header('Content-Type: application/json');
header('X-Content-Type-Options: nosniff');
$uri = strtok($_SERVER['REQUEST_URI'], '?');

function b64url_decode(string $s): string|false {
    return base64_decode(strtr($s, '-_', '+/'), true);
}

function token_ok(): bool {
    $auth = $_SERVER['HTTP_AUTHORIZATION'] ?? '';
    if (strncmp($auth, 'Bearer ', 7) !== 0) return false;
    $parts = explode('.', substr($auth, 7));
    if (count($parts) !== 3) return false;
    $header = json_decode((string)b64url_decode($parts[0]), true);
    if (!is_array($header) || ($header['alg'] ?? '') !== 'HS256') return false;
    $mac = hash_hmac('sha256', $parts[0] . '.' . $parts[1], getenv('JWT_SECRET_KEY'), true);
    if (!hash_equals($mac, (string)b64url_decode($parts[2]))) return false;
    $claims = json_decode((string)b64url_decode($parts[1]), true);
    if (!is_array($claims)) return false;
    $now = time();
    if (isset($claims['exp']) && $now >= $claims['exp']) return false;
    if (isset($claims['nbf']) && $now < $claims['nbf']) return false;
    return true;
}

if ($uri === '/api/hello') {
    echo json_encode(['message' => 'Hello, World!']);
} elseif ($uri === '/api/protected') {
    if (token_ok()) {
        echo json_encode(['msg' => 'Access granted to protected resource']);
    } else {
        http_response_code(401);
        echo json_encode(['error' => 'Unauthorized']);
    }
} else {
    http_response_code(404);
    echo json_encode(['error' => 'Not Found']);
}
